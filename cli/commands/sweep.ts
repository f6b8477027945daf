/**
 * `pinger probe --sweep PREFIX`: one census pass without a control plane, like `fping -g -a` — every address of
 * the prefix once (permuted, paced at `--rate`, `--retries` more rounds over the silent ones), then the addresses
 * that answered, one a line in address order. With `--json`: one Result per answer (without a destination id),
 * then `{"pass": …}`, the pass record the agent would keep. Exit 0 when some address answered, 1 when none did,
 * 2 on bad arguments.
 *
 * The prefix and settings are checked by the contract's destination schema, so the CLI sweeps exactly what a
 * census destination may hold.
 */
import * as v from 'valibot';
import {
  type CensusPass,
  DestinationCreateSchema,
  intRange,
  type Prefix,
  type Protocol,
  parsePrefix,
} from '../../contract/index.js';
import { CliError } from '../errors.js';

export interface SweepCliOptions {
  protocol?: Protocol;
  port?: number;
  timeout: number;
  ttl: number;
  data: string;
  sourceid?: number;
  json?: boolean;
  rate?: number;
  retries?: number;
  /** False with `--no-tx-timestamps`. */
  txTimestamps: boolean;
}

const OPTION_OF: Record<string, string> = {
  address: '--sweep',
  protocol: '--protocol',
  port: '--port',
  timeout: '--timeout',
  ttl: '--ttl',
  data: '--data',
  'census.rate': '--rate',
  'census.retries': '--retries',
};

/** Checks everything before a probe leaves; returns the prefix, its protocol and the pass settings. */
function validate(
  address: string,
  o: SweepCliOptions,
): { prefix: Prefix; protocol: Protocol; rate: number; retries: number; sourceid: number } {
  if (o.sourceid !== undefined) {
    const r = v.safeParse(intRange(0, 65_535), o.sourceid);
    if (!r.success) throw new CliError(`--sourceid: ${r.issues[0].message}`);
  }
  const family = address.includes(':') ? 6 : 4;
  const r = v.safeParse(DestinationCreateSchema, {
    address,
    protocol: o.protocol ?? (family === 6 ? 'icmp6' : 'icmp'),
    port: o.port ?? null,
    timeout: o.timeout,
    ttl: o.ttl,
    data: o.data,
    census: {
      ...(o.rate !== undefined ? { rate: o.rate } : {}),
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
    },
  });
  if (!r.success) {
    const issue = r.issues[0];
    const field = v.getDotPath(issue) ?? 'address';
    throw new CliError(
      `${OPTION_OF[field] ?? field}${field === 'address' ? ` ${address}` : ''}: ${issue.message}`,
    );
  }
  const parsed = parsePrefix(r.output.address);
  if (!('prefix' in parsed)) throw new CliError(`--sweep ${address}: ${parsed.issue}`);
  return {
    prefix: parsed.prefix,
    protocol: r.output.protocol,
    rate: r.output.census!.rate,
    retries: r.output.census!.retries,
    sourceid: o.sourceid ?? Math.floor(Math.random() * 65_536),
  };
}

/** Orders addresses numerically (IPv4 by octets, IPv6 by groups), as a reader scans a host list. */
function addressOrder(a: string, b: string): number {
  const key = (s: string) =>
    s.includes(':')
      ? s
          .split(':')
          .map((g) => g.padStart(4, '0'))
          .join(':')
      : s
          .split('.')
          .map((o) => o.padStart(3, '0'))
          .join('.');
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Runs the sweep; returns the exit code. */
export async function sweepCommand(address: string, options: SweepCliOptions): Promise<number> {
  const { prefix, protocol, rate, retries, sourceid } = validate(address, options);
  // Loaded here so that other commands never load the raw-socket addon.
  const { ProbeEngine } = await import('../../agent/probes/engine.js');
  const { RawSocketPermissionError } = await import('../../agent/probes/errors.js');
  const { startPass } = await import('../../agent/schedule/census/pass.js');
  const engine = new ProbeEngine({ sourceid, txTimestamps: options.txTimestamps });
  let prober: Awaited<ReturnType<typeof engine.open>>;
  try {
    prober = await engine.open(protocol);
  } catch (err) {
    engine.close();
    if (err instanceof RawSocketPermissionError)
      throw new CliError(err.message.replace(/^\[probes\] /, ''), 1);
    throw err;
  }
  const out = process.stdout;
  const hosts: string[] = [];
  const pass = startPass({
    destination: {
      id: 'sweep',
      protocol,
      port: options.port ?? null,
      ttl: options.ttl,
      timeout: options.timeout,
      data: options.data,
    },
    prefix,
    rate,
    retries,
    prober,
    onAnswer: (result) => {
      hosts.push(result.target);
      if (options.json) {
        const { destination: _d, ...line } = result;
        out.write(`${JSON.stringify(line)}\n`);
      }
    },
  });
  const onSigint = () => pass.stop(); // probes in flight still finish within their timeout
  process.once('SIGINT', onSigint);
  let summary: Awaited<typeof pass.done>;
  try {
    summary = await pass.done;
  } finally {
    process.off('SIGINT', onSigint);
    engine.close();
  }
  const record: CensusPass = {
    destination: 'sweep',
    prefix: prefix.text,
    start: summary.start.toString(),
    end: summary.end.toString(),
    addresses: summary.addresses,
    probed: summary.probed,
    answered: summary.answered,
    retries: summary.retries,
    errors: summary.errors,
    skipped: 0,
    rate: summary.rate,
  };
  if (options.json) out.write(`${JSON.stringify({ pass: record })}\n`);
  else {
    // A host answering in two rounds is one host (a retry only goes to the silent, but be exact).
    for (const host of [...new Set(hosts)].sort(addressOrder)) out.write(`${host}\n`);
    const seconds = Number(summary.end - summary.start) / 1e9;
    process.stderr.write(
      `${prefix.text}: ${summary.addresses} addresses, ${summary.answered} answered, ${summary.probed} probes ` +
        `(${summary.retries} retries, ${summary.errors} errors) in ${seconds.toFixed(2)} s at ${rate}/s` +
        `${summary.stopped ? ' (interrupted)' : ''}\n`,
    );
  }
  return summary.answered > 0 ? 0 : 1;
}
