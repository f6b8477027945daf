/**
 * `pinger agent`: the daemon on a source host. Follows the control plane's destination set, probes, and delivers
 * every result through the disk spool. Runs until SIGTERM/SIGINT (graceful: in-flight probes finish, the spool
 * is flushed and a final send attempted), or until the control plane refuses the token (exit 1).
 *
 * Default spool directory: /var/lib/pinger/spool when running as root (the systemd unit's StateDirectory), else
 * ./data/spool beside the control plane's ./data/pinger.db, so `npm start` and a developer's checkout keep it in
 * the one ignored directory.
 */
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { AGENT_PPS } from '../../contract/index.js';
import { CliError } from '../errors.js';
import {
  createCliLogger,
  LOG_ENVIRONMENT_HELP,
  type LogFormat,
  logFormatOption,
  resolveLogFormat,
} from '../log.js';

function intIn(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`must be ${what}, ${min}–${max}.`);
    }
    return n;
  };
}

/** Where the spool lives unless --spool says otherwise. */
export function defaultSpoolDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/pinger/spool' : resolve('data', 'spool');
}

interface AgentCliOptions {
  url?: string;
  token?: string;
  spool?: string;
  metricsPort?: number;
  pps?: number;
  logFormat?: LogFormat;
  txTimestamps: boolean;
}

export function register(program: Command): void {
  program
    .command('agent')
    .description('run the agent: probe the destinations the control plane assigns and deliver every result')
    .option('--url <url>', 'control plane URL (env PINGER_URL)')
    .option('--token <token>', "this source's agent token (env PINGER_TOKEN)")
    .option('--spool <dir>', 'spool directory (default /var/lib/pinger/spool as root, else ./data/spool)')
    .option('--metrics-port <n>', 'serve Prometheus /metrics on 127.0.0.1:<n>', intIn(0, 65_535, 'a port'))
    .option(
      '--pps <n>',
      `global packets-per-second budget, shared with census passes (default ${AGENT_PPS.default})`,
      intIn(AGENT_PPS.min, AGENT_PPS.max, 'a rate'),
    )
    .addOption(logFormatOption())
    .option(
      '--no-tx-timestamps',
      "time sends by the agent's clock before sendto, not the kernel's transmit stamps (results say so)",
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  PINGER_URL          control plane URL, if --url is not given\n' +
        '  PINGER_TOKEN        agent token, if --token is not given\n' +
        `${LOG_ENVIRONMENT_HELP}\n` +
        '\nNeeds CAP_NET_RAW (or root) for raw sockets.',
    )
    .action(async (options: AgentCliOptions) => {
      const url = options.url ?? process.env.PINGER_URL;
      const token = options.token ?? process.env.PINGER_TOKEN;
      if (!url) throw new CliError('--url (or PINGER_URL) is required: the control plane URL');
      if (!token) throw new CliError('--token (or PINGER_TOKEN) is required: the agent token of this source');
      try {
        const u = new URL(url);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw new CliError(`--url must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
      }
      // Loaded here so that other commands never load the agent (raw sockets, undici).
      const { startAgent, stopOnSignals, SyncAuthError } = await import('../../agent/main.js');
      const { RawSocketPermissionError } = await import('../../agent/probes/errors.js');
      const logger = await createCliLogger({
        name: 'pinger-agent',
        format: resolveLogFormat(options.logFormat),
      });
      let handle: Awaited<ReturnType<typeof startAgent>>;
      try {
        handle = await startAgent({
          url,
          token,
          spoolDir: resolve(options.spool ?? defaultSpoolDir()),
          logger,
          ...(options.metricsPort !== undefined ? { metricsPort: options.metricsPort } : {}),
          ...(options.pps !== undefined ? { pps: options.pps } : {}),
          txTimestamps: options.txTimestamps,
        });
      } catch (err) {
        throw new CliError(`cannot start the agent: ${(err as Error).message}`, 1, { cause: err });
      }
      const removeSignalHandlers = stopOnSignals(handle, logger);
      try {
        await handle.done;
      } catch (err) {
        if (err instanceof SyncAuthError || err instanceof RawSocketPermissionError) {
          throw new CliError(err.message, 1, { cause: err });
        }
        throw err;
      } finally {
        removeSignalHandlers();
      }
    });
}
