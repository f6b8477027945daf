/**
 * Real `pinger serve` and `pinger agent` processes for the failure tests, optionally inside a network namespace
 * (`ip netns exec` execs the command in place, so the child's pid is the pinger process and signals reach it
 * directly). Their stderr (pino JSON lines) is kept for assertions; every wait is bounded.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'pinger.js');
const execFileAsync = promisify(execFile);

export interface Proc {
  child: ChildProcess;
  stdout: string[];
  /** Parsed JSON log lines from stderr (non-JSON lines kept as `{ raw }`). */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal if the process still runs. */
  kill(signal?: NodeJS.Signals): void;
}

/** Polls `check` every `everyMs` until it is true; throws naming `what` after `ms`. Returns at once when true. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms: number,
  everyMs = 50,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts `pinger ...args` (in namespace `ns` when given) with a clean PINGER_* environment plus `env`. */
export function spawnPinger(args: string[], env: Record<string, string> = {}, ns?: string): Proc {
  return spawnNode([BIN, ...args], env, ns);
}

/** Starts `node ...args` (in namespace `ns` when given) with a clean PINGER_* environment plus `env`. */
export function spawnNode(args: string[], env: Record<string, string> = {}, ns?: string): Proc {
  return spawnCommand([process.execPath, ...args], env, ns);
}

/** Starts the command `argv` (in namespace `ns` when given) with a clean PINGER_* environment plus `env`. */
export function spawnCommand(argv: string[], env: Record<string, string> = {}, ns?: string): Proc {
  const base = { ...process.env };
  for (const key of Object.keys(base)) if (key.startsWith('PINGER_')) delete base[key];
  const child = ns
    ? spawn('ip', ['netns', 'exec', ns, ...argv], {
        env: { ...base, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(argv[0]!, argv.slice(1), { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  };
  lines(child.stdout!, (l) => stdout.push(l));
  lines(child.stderr!, (l) => {
    try {
      logs.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      logs.push({ raw: l });
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout,
    logs,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export const ADMIN_TOKEN = 'e2e-failures-admin-token-0123456789abcdefgh';

/** `pinger serve` on `host:port` (0 picks one) over `db`; resolves with its URL once it listens. */
export async function startServe(
  host: string,
  port: number,
  db: string,
): Promise<{ proc: Proc; url: string; port: number }> {
  const proc = spawnPinger(['serve', '--host', host, '--port', String(port), '--db', db], {
    PINGER_ADMIN_TOKEN: ADMIN_TOKEN,
    PINGER_LOG_LEVEL: 'warn',
  });
  const listening = () => proc.stdout.find((l) => /listening on/.test(l));
  await Promise.race([
    until('pinger serve listening', () => listening() !== undefined, 20_000),
    proc.exited.then((e) => {
      throw new Error(`pinger serve exited (${e.code}) before listening: ${JSON.stringify(proc.logs)}`);
    }),
  ]);
  const url = /listening on (\S+)/.exec(listening()!)![1]!;
  return { proc, url, port: Number(new URL(url).port) };
}

/** `pinger agent` in namespace `ns`, with its metrics endpoint on a free port of that namespace's loopback. */
export function startAgentIn(
  ns: string,
  url: string,
  token: string,
  spool: string,
  env: Record<string, string> = {},
): Proc {
  return spawnPinger(
    ['agent', '--url', url, '--spool', spool, '--metrics-port', '0'],
    { ...env, PINGER_TOKEN: token },
    ns,
  );
}

/**
 * The agent daemon through agent-runner.ts in namespace `ns`: `pinger agent`'s startAgent and signal handling, with
 * `options` (AgentOptions as JSON) that the CLI does not expose, such as outbox bounds and retry timings a test
 * can reach in seconds.
 */
export function startRunnerIn(ns: string, options: Record<string, unknown>): Proc {
  return spawnNode(
    ['--import', 'tsx', join(import.meta.dirname, 'agent-runner.ts'), JSON.stringify(options)],
    {},
    ns,
  );
}

/** The port the agent's metrics endpoint took (from its start line), once it has logged it. */
export async function metricsPortOf(agent: Proc): Promise<number> {
  await until('agent started', () => agent.logs.some((l) => l.msg === '[agent] started'), 20_000);
  return Number(agent.logs.find((l) => l.msg === '[agent] started')!.metricsPort);
}

/**
 * Scrapes the agent's Prometheus endpoint from inside its namespace (it listens on that namespace's loopback)
 * and returns the samples summed by metric name plus label set, e.g. `pinger_agent_results_dropped_total{reason="memory_full"}`.
 */
export async function scrape(ns: string, port: number): Promise<Map<string, number>> {
  const stdout = await scrapeText(ns, port);
  const samples = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

/** The agent's `/metrics` text, fetched from inside namespace `ns`. */
export async function scrapeText(ns: string, port: number): Promise<string> {
  const { stdout } = await execFileAsync(
    'ip',
    ['netns', 'exec', ns, 'curl', '-sf', '--max-time', '5', `http://127.0.0.1:${port}/metrics`],
    { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** Sum of every sample of `name` (all label sets). */
export function total(samples: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of samples) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

/**
 * Waits until the agent's pending results (produced minus confirmed or dropped, one scrape) are at most `lag`: it has
 * caught up to within about a batch, so that the final send of a SIGTERM has little left to do.
 */
export async function caughtUp(ns: string, port: number, lag: number, ms: number): Promise<void> {
  await until(
    `the agent within ${lag} results of delivering everything`,
    async () => {
      const m = await scrape(ns, port);
      const settled =
        total(m, 'pinger_agent_results_delivered_total') + total(m, 'pinger_agent_results_dropped_total');
      return total(m, 'pinger_agent_results_total') - settled <= lag;
    },
    ms,
    250,
  );
}
