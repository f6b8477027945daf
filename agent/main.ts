/**
 * The agent daemon: sync ─▶ scheduler ─▶ probe engine ─▶ outbox, wired once and stopped in order. Destinations
 * whose address is a prefix go to the census scheduler instead (passes over the prefix), which shares the engine,
 * the outbox and the scheduler's pps budget.
 *
 * Start: metrics endpoint (optional), outbox (replays the spool), scheduler, then sync, which applies the cached
 * config at once and then follows the control plane. Stop (SIGTERM): stop following, stop scheduling and wait for
 * the probes in flight (bounded by their timeout), write everything to the spool and fsync, try a final send
 * with a short deadline, close the sockets. A refused token stops the agent by itself: {@link AgentHandle.done}
 * rejects with {@link SyncAuthError}.
 */
import { join } from 'node:path';
import { Agent as UndiciAgent } from 'undici';
import { AGENT_PPS, type AgentConfig, type CensusPass, type Protocol } from '../contract/index.js';
import { ConfigSync, SyncAuthError } from './config/sync.js';
import { PassUploader } from './delivery/census-passes.js';
import { Outbox, type OutboxOptions } from './delivery/outbox.js';
import { resultsClient } from './delivery/results-client.js';
import { type AgentMetrics, createAgentMetrics, serveMetrics } from './metrics/metrics.js';
import { ProbeEngine } from './probes/engine.js';
import { RawSocketPermissionError } from './probes/errors.js';
import { CensusScheduler, isCensus } from './schedule/census/census-scheduler.js';
import { Resolver } from './schedule/resolve.js';
import { Scheduler, type SendProbe } from './schedule/scheduler.js';
import { engineSender } from './schedule/send-probe.js';

export { SyncAuthError };

/** What the agent logs through (pino's surface). */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AgentOptions {
  /** Control plane base URL. */
  url: string;
  /** This source's agent token. */
  token: string;
  /** Spool directory: result segments, rejected batches, the cached config. */
  spoolDir: string;
  /** Serve Prometheus `/metrics` on 127.0.0.1:port (0 picks a free port). */
  metricsPort?: number;
  /** Global packets-per-second budget (default 20,000). */
  pps?: number;
  /**
   * Time sends by the kernel's transmit stamps (default true); false times them by the process's clock before
   * `sendto`, and every result's `timing.send` says `process`.
   */
  txTimestamps?: boolean;
  logger: AgentLogger;
  /** Long-poll wait, seconds (default 25). */
  waitSeconds?: number;
  /** Outbox tuning (batch size and age, bounds); defaults suit production. */
  outbox?: Partial<Omit<OutboxOptions, 'spoolDir' | 'deliver' | 'metrics' | 'logger'>>;
  /** Deadline of one results POST, after which it is retried (default 15 s, see delivery/results-client.ts). */
  deliveryTimeoutMs?: number;
  /** Replaces the raw-socket engine (benchmarks, tests without privileges): a sender for a source id. */
  sender?: (sourceid: number) => SendProbe;
  /** How long a final send may take at stop (default 3 s). */
  finalSendMs?: number;
  /**
   * At stop, the longest wait for probes in flight to end by their own timeout (default 10 s; the wait is the
   * largest destination timeout + 250 ms when that is shorter). The probe engine then settles the rest as errors.
   */
  maxDrainMs?: number;
  /**
   * Receives each census pass record too. The agent itself spools each record and delivers it to the control plane
   * (`POST /v1/agent/census/passes`, see delivery/census-passes.ts), logs it and exports it as metrics.
   */
  onCensusPass?: (record: CensusPass) => void;
}

export interface AgentHandle {
  /** Settles when the agent has stopped: resolves after {@link stop}, rejects on a fatal error (bad token). */
  done: Promise<void>;
  /** Graceful stop; idempotent. */
  stop(): Promise<void>;
  metrics: AgentMetrics;
  /** Port of the metrics endpoint, when enabled. */
  metricsPort: number | undefined;
}

/** Stops the agent gracefully on SIGTERM or SIGINT. Returns the function that removes the handlers. */
export function stopOnSignals(handle: AgentHandle, logger: AgentLogger): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, '[agent] stopping');
    void handle.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}

/** Starts the agent daemon. Throws if the spool cannot be opened or the metrics port is taken. */
export async function startAgent(options: AgentOptions): Promise<AgentHandle> {
  const log = options.logger;
  const metrics = createAgentMetrics();
  const metricsServer =
    options.metricsPort === undefined ? undefined : await serveMetrics(metrics, options.metricsPort);
  const dispatcher = new UndiciAgent({ keepAliveTimeout: 30_000, connections: 4 });
  let outbox: Outbox;
  try {
    outbox = await Outbox.open({
      ...options.outbox,
      spoolDir: options.spoolDir,
      deliver: resultsClient({
        url: options.url,
        token: options.token,
        dispatcher,
        ...(options.deliveryTimeoutMs !== undefined ? { timeoutMs: options.deliveryTimeoutMs } : {}),
      }),
      metrics,
      logger: log,
    });
  } catch (err) {
    // Leave nothing listening behind: the caller exits on this error.
    await metricsServer?.close();
    await dispatcher.close();
    throw err;
  }

  let passes: PassUploader;
  try {
    passes = await PassUploader.open({
      url: options.url,
      token: options.token,
      spoolDir: options.spoolDir,
      logger: log,
      dispatcher,
    });
  } catch (err) {
    await outbox.close(0);
    await metricsServer?.close();
    await dispatcher.close();
    throw err;
  }

  let engine: ProbeEngine | undefined;
  let sender: SendProbe | undefined;
  let sourceid: number | undefined;
  const resolver = new Resolver();
  let fatal: Error | undefined;

  const scheduler = new Scheduler({
    send: (target, seq, done, lateness) => sender!(target, seq, done, lateness),
    onResult: (result) => outbox.push(result),
    metrics,
    logger: log,
    ...(options.pps !== undefined ? { pps: options.pps } : {}),
  });

  const census = new CensusScheduler({
    prober: (protocol) => {
      if (options.sender)
        throw new Error('[agent] census passes need the probe engine, not a replaced sender');
      if (sourceid === undefined) throw new Error('[agent] no source id yet');
      engine ??= new ProbeEngine({ sourceid });
      return engine.prober(protocol);
    },
    onResult: (result) => outbox.push(result),
    budget: scheduler,
    pps: options.pps ?? AGENT_PPS.default,
    metrics,
    logger: log,
    onPass: (record) => {
      passes.push(record);
      options.onCensusPass?.(record);
    },
  });

  let maxTimeout = 0;
  const onConfig = (config: AgentConfig, origin: 'cache' | 'control-plane') => {
    if (config.source.sourceid !== sourceid) {
      if (sourceid !== undefined) {
        log.warn(
          { from: sourceid, to: config.source.sourceid },
          '[agent] sourceid changed; reopening the probe engine',
        );
      }
      engine?.close();
      engine = undefined;
      sourceid = config.source.sourceid;
      if (options.sender) sender = options.sender(sourceid);
      else {
        const id = sourceid;
        sender = engineSender(() => {
          engine ??= new ProbeEngine({ sourceid: id, txTimestamps: options.txTimestamps ?? true });
          return engine;
        }, resolver);
      }
    }
    if (!options.sender) {
      // Open the sockets of every protocol now: a missing CAP_NET_RAW is a clear fatal error, not a stream of
      // error results.
      const protocols = new Set<Protocol>();
      for (const d of config.destinations) if (d.active) protocols.add(d.protocol);
      engine ??= new ProbeEngine({ sourceid: sourceid!, txTimestamps: options.txTimestamps ?? true });
      for (const p of protocols) {
        try {
          engine.prober(p);
        } catch (err) {
          if (err instanceof RawSocketPermissionError) {
            fatal = err;
            void stop();
            return;
          }
          log.error(
            { err, protocol: p },
            '[agent] cannot open the raw socket; its probes will record errors',
          );
        }
      }
      reportTimestamps(engine.receiveTimestamps());
    }
    // A loop, not Math.max(...list): spreading a very large set overflows the call stack.
    maxTimeout = 0;
    for (const d of config.destinations) if (d.timeout > maxTimeout) maxTimeout = d.timeout;
    const summary = scheduler.apply(config.destinations.filter((d) => !isCensus(d)));
    census.apply(config.destinations, config.censusSlices);
    log.info(
      {
        origin,
        version: config.version,
        source: config.source.id,
        destinations: scheduler.size,
        censuses: census.size,
        ...summary,
      },
      '[agent] destination set applied',
    );
  };

  /** Says once per socket where its arrival times come from: an RTT read in the process is longer by its wake-up. */
  const reported = new Set<string>();
  const reportTimestamps = (sources: Partial<Record<string, 'kernel' | 'process'>>) => {
    const fresh = Object.entries(sources).filter(([socket]) => !reported.has(socket));
    if (fresh.length === 0) return;
    for (const [socket, source] of fresh) {
      reported.add(socket);
      metrics.receiveTimestamps.labels({ socket, source: source! }).set(1);
    }
    const byProcess = fresh.filter(([, source]) => source === 'process').map(([socket]) => socket);
    if (byProcess.length > 0) {
      log.warn(
        { sockets: byProcess },
        '[agent] these sockets read arrival times in the process, not from the kernel: their RTTs include the ' +
          "process's wake-up delay (the addon could not find the socket's descriptor)",
      );
    } else {
      log.info({ sockets: fresh.map(([socket]) => socket) }, '[agent] arrival times come from the kernel');
    }
  };

  const sync = new ConfigSync({
    url: options.url,
    token: options.token,
    cachePath: join(options.spoolDir, 'config.json'),
    onConfig,
    metrics,
    logger: log,
    dispatcher,
    pps: options.pps ?? AGENT_PPS.default,
    ...(options.waitSeconds !== undefined ? { waitSeconds: options.waitSeconds } : {}),
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const t0 = performance.now();
      sync.stop();
      // Probes in flight end by their own timeout; wait that long (plus a margin), at most 10 s.
      const drainMs = Math.min(options.maxDrainMs ?? 10_000, maxTimeout + 250);
      const [{ abandoned }] = await Promise.all([scheduler.stop(drainMs), census.stop(drainMs)]);
      // Closing the engine settles every probe still in flight (as an error result); its result must reach the
      // outbox before it closes, or each restart leaves a seq gap per probe in flight.
      engine?.close();
      if (abandoned > 0) await scheduler.stop(1000);
      const [stats] = await Promise.all([
        outbox.close(options.finalSendMs ?? 3000),
        passes.close(options.finalSendMs ?? 3000),
      ]);
      await dispatcher.close().catch(() => undefined);
      await metricsServer?.close();
      log.info(
        {
          ms: Math.round(performance.now() - t0),
          sent: scheduler.stats().sent,
          abandoned,
          delivered: stats.delivered,
          unsent: stats.pending,
          dropped: stats.dropped,
        },
        '[agent] stopped',
      );
    })();
    return stopping;
  };

  const done = sync.run().then(
    async () => {
      await stop();
      if (fatal) throw fatal;
    },
    async (err: unknown) => {
      log.error({ err }, (err as Error).message);
      fatal = err as Error;
      await stop();
      throw err;
    },
  );
  // `done` is for the caller; an unobserved rejection must not crash the process before it looks.
  done.catch(() => undefined);
  log.info(
    {
      url: options.url,
      spoolDir: options.spoolDir,
      metricsPort: metricsServer?.port,
      pps: options.pps ?? AGENT_PPS.default,
    },
    '[agent] started',
  );
  return { done, stop, metrics, metricsPort: metricsServer?.port };
}
