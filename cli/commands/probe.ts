/**
 * `pinger probe TARGET...`: ping/fping on the agent's probe engine, over any of the six protocols. A line per
 * probe (JSON lines shaped as the Result contract, without the destination id, with `--json`), then a summary
 * per target. Exit 0 when some target answered, 1 when none did, 2 on bad arguments.
 *
 * With `--sweep PREFIX` it sweeps a prefix instead (sweep.ts), like `fping -g -a`.
 *
 * The values are checked by the contract's destination schema, so the CLI accepts exactly what a destination
 * may hold — except the interval, which may go down to 1 ms here (like `ping -i` for root) while the agent's
 * scheduler keeps the destination minimum.
 */
import { isIP } from 'node:net';
import { type Command, Option } from 'commander';
import * as v from 'valibot';
import { unsentOutcome } from '../../agent/probes/types.js';
import {
  DEFAULTS,
  DestinationCreateSchema,
  intRange,
  LIMITS,
  PROTOCOLS,
  type Protocol,
  protocolFamily,
} from '../../contract/index.js';
import { parseInteger } from '../arguments.js';
import { CliError } from '../errors.js';
import { outcomeLine, TargetStats } from '../probe-stats.js';
import { sweepCommand } from './sweep.js';

interface ProbeCliOptions {
  /** Absent: icmp, or icmp6 for an IPv6 literal, chosen per target. */
  protocol?: Protocol;
  port?: number;
  count: number;
  interval: number;
  timeout: number;
  ttl: number;
  data: string;
  sourceid?: number;
  json?: boolean;
  sweep?: string;
  rate?: number;
  retries?: number;
  /** False with `--no-tx-timestamps`. */
  txTimestamps: boolean;
}

/** Bounds of the CLI's own values. */
const CLI_LIMITS = { count: { min: 1, max: 10_000_000 }, intervalMs: { min: 1, max: LIMITS.intervalMs.max } };

const OPTION_OF: Record<string, string> = {
  address: 'TARGET',
  protocol: '--protocol',
  port: '--port',
  timeout: '--timeout',
  ttl: '--ttl',
  data: '--data',
};

export function register(program: Command): void {
  program
    .command('probe')
    .description('probe targets like ping/fping: icmp, udp or tcp over IPv4 or IPv6, microsecond RTTs')
    .argument('[target...]', 'IP addresses or host names (resolved per family, re-resolved on DNS TTL)')
    .addOption(
      new Option(
        '-p, --protocol <protocol>',
        'probe protocol (default: icmp, or icmp6 for each IPv6 address)',
      ).choices(PROTOCOLS),
    )
    .option('--port <n>', 'destination port (udp, tcp)', parseInteger)
    .option('-c, --count <n>', 'probes per target', parseInteger, 5)
    .option('-i, --interval <ms>', 'milliseconds between probes of a target', parseInteger, DEFAULTS.interval)
    .option(
      '-t, --timeout <ms>',
      'milliseconds to wait for an answer (may exceed the interval)',
      parseInteger,
      DEFAULTS.timeout,
    )
    .option('--ttl <n>', 'TTL / hop limit of the probes', parseInteger, DEFAULTS.ttl)
    .option('--data <text>', 'payload text carried and checked in the echo', DEFAULTS.data)
    .option('--sourceid <n>', 'source id written into each probe (0–65535; random by default)', parseInteger)
    .option('--json', 'JSON lines: one Result per probe, then one {"summary": …} per target')
    .option(
      '--sweep <prefix>',
      'sweep a prefix (IPv4 /16+, IPv6 /112+) once and print the hosts that answered',
    )
    .option('--rate <n>', 'with --sweep: probes a second (default 5000)', parseInteger)
    .option('--retries <n>', 'with --sweep: rounds over the silent addresses (default 1)', parseInteger)
    .option(
      '--no-tx-timestamps',
      "time sends by this process's clock before sendto, not the kernel's transmit stamps (lines say so)",
    )
    .addHelpText(
      'after',
      '\nA line whose RTT is not timed by the kernel on both ends says which end was not (timed=process-send,\n' +
        "timed=process-receive, timed=process): such an RTT includes some of this process's own delay.\n" +
        'Needs root or CAP_NET_RAW (raw sockets). Exit 0 if any target answered, 1 if none, 2 on bad arguments.',
    )
    .action(async (targets: string[], options: ProbeCliOptions) => {
      if (options.sweep !== undefined) {
        if (targets.length > 0) throw new CliError('--sweep takes no other targets');
        process.exitCode = await sweepCommand(options.sweep, options);
        return;
      }
      if (targets.length === 0) throw new CliError('name at least one target, or a prefix with --sweep');
      if (options.rate !== undefined || options.retries !== undefined) {
        throw new CliError('--rate and --retries go with --sweep');
      }
      process.exitCode = await probeCommand(targets, options);
    });
}

/** The protocol for `address`: the one asked for, else ICMP of the literal's family (IPv4 for host names). */
function protocolFor(address: string, o: ProbeCliOptions): Protocol {
  if (o.protocol) return o.protocol;
  return isIP(address) === 6 ? 'icmp6' : DEFAULTS.protocol;
}

/** Validates everything up front: nothing is sent when any value is wrong. Returns each target's protocol. */
function validate(targets: string[], o: ProbeCliOptions): { protocols: Protocol[]; sourceid: number } {
  const check = (name: string, schema: ReturnType<typeof intRange>, value: unknown) => {
    const r = v.safeParse(schema, value);
    if (!r.success) throw new CliError(`${name}: ${r.issues[0].message}`);
  };
  check('--count', intRange(CLI_LIMITS.count.min, CLI_LIMITS.count.max), o.count);
  check('--interval', intRange(CLI_LIMITS.intervalMs.min, CLI_LIMITS.intervalMs.max), o.interval);
  if (o.sourceid !== undefined) check('--sourceid', intRange(0, 65_535), o.sourceid);
  const protocols = targets.map((address) => {
    const r = v.safeParse(DestinationCreateSchema, {
      address,
      protocol: protocolFor(address, o),
      port: o.port ?? null,
      timeout: o.timeout,
      ttl: o.ttl,
      data: o.data,
    });
    if (!r.success) {
      const issue = r.issues[0];
      const field = v.getDotPath(issue) ?? 'address';
      throw new CliError(
        `${OPTION_OF[field] ?? field}${field === 'address' ? ` ${address}` : ''}: ${issue.message}`,
      );
    }
    return r.output.protocol;
  });
  return { protocols, sourceid: o.sourceid ?? Math.floor(Math.random() * 65_536) };
}

async function probeCommand(targets: string[], options: ProbeCliOptions): Promise<number> {
  const { protocols, sourceid } = validate(targets, options);
  // Loaded here so that other commands never load the raw-socket addon.
  const { ProbeEngine } = await import('../../agent/probes/engine.js');
  const { RawSocketPermissionError } = await import('../../agent/probes/errors.js');
  const { Resolver } = await import('../../agent/schedule/resolve.js');
  const engine = new ProbeEngine({ sourceid, txTimestamps: options.txTimestamps });
  const probers = new Map<Protocol, ReturnType<typeof engine.prober>>();
  try {
    // One prober per protocol used; literal addresses are known now, names resolve at their first probe.
    for (const protocol of new Set(protocols)) {
      const literals = targets.filter((t, i) => protocols[i] === protocol && isIP(t) !== 0);
      probers.set(protocol, await engine.open(protocol, literals));
    }
  } catch (err) {
    if (err instanceof RawSocketPermissionError)
      throw new CliError(err.message.replace(/^\[probes\] /, ''), 1);
    throw err;
  }
  const resolver = new Resolver();
  const out = process.stdout;
  const stats = targets.map((t, i) => new TargetStats(t, protocols[i]!));
  const pending = new Set<Promise<void>>();
  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true; // stop sending; probes in flight still finish within their timeout
  };
  process.on('SIGINT', onSigint);
  try {
    const start = performance.now();
    for (let i = 0; i < options.count && !stopping; i++) {
      const wait = start + i * options.interval - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (stopping) break;
      targets.forEach((label, t) => {
        const seq = i & 0xffff;
        const tally = stats[t]!;
        const protocol = protocols[t]!;
        const prober = probers.get(protocol)!;
        const done: Promise<void> = resolver
          .resolve(label, protocolFamily(protocol))
          .then(
            (address) =>
              prober.probe(
                {
                  protocol,
                  address,
                  port: options.port ?? null,
                  ttl: options.ttl,
                  timeout: options.timeout,
                  data: options.data,
                },
                seq,
              ),
            (err: Error) => unresolved(label, protocol, seq, err.message),
          )
          .then((outcome) => {
            tally.add(outcome);
            const { detail, ...result } = outcome;
            out.write(
              options.json
                ? `${JSON.stringify(outcome.status === 'error' ? outcome : result)}\n`
                : outcomeLine(label, outcome),
            );
            pending.delete(done);
          });
        pending.add(done);
      });
    }
    while (pending.size > 0) await Promise.all([...pending]);
  } finally {
    process.off('SIGINT', onSigint);
    engine.close();
  }
  for (const s of stats) out.write(options.json ? `${JSON.stringify(s.json())}\n` : s.text());
  return stats.some((s) => s.answered) ? 0 : 1;
}

/** The outcome of a probe that could not be sent because its host name did not resolve. */
function unresolved(label: string, protocol: Protocol, seq: number, detail: string) {
  return unsentOutcome(
    { rtime: `${BigInt(Date.now()) * 1_000_000n}`, target: label, protocol, rseq: seq },
    detail,
  );
}
