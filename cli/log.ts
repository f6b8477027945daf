/**
 * The log every long-running command writes to stderr (stdout stays for what the operator must read: the banner,
 * tokens, probe lines). A person at a terminal gets one readable line per event (pino-pretty); systemd, CI and log
 * shippers get pino's JSON lines, one object each. Chosen in this order: `--log-format`, `PINGER_LOG_FORMAT`, then
 * whether stderr is a terminal.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { CliError } from './errors.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Help text for the environment variables every logging command reads. */
export const LOG_ENVIRONMENT_HELP =
  '  PINGER_LOG_LEVEL    pino log level on stderr (default info)\n' +
  '  PINGER_LOG_FORMAT   json or pretty, if --log-format is not given (default: pretty on a terminal)';

function parseFormat(value: string, what: string): LogFormat {
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new InvalidArgumentError(`${what} must be json or pretty, got ${JSON.stringify(value)}.`);
}

/** `--log-format <json|pretty>`, for `command.addOption()`. */
export function logFormatOption(): Option {
  return new Option(
    '--log-format <format>',
    'log lines on stderr: json or pretty (env PINGER_LOG_FORMAT)',
  ).argParser((value) => parseFormat(value, '--log-format'));
}

/** The format to log in: the option, else `PINGER_LOG_FORMAT`, else pretty on a terminal and JSON elsewhere. */
export function resolveLogFormat(
  option: LogFormat | undefined,
  env: NodeJS.ProcessEnv = process.env,
  stderrIsTTY = process.stderr.isTTY === true,
): LogFormat {
  if (option) return option;
  const fromEnv = env.PINGER_LOG_FORMAT?.trim();
  if (fromEnv) {
    if ((LOG_FORMATS as readonly string[]).includes(fromEnv)) return fromEnv as LogFormat;
    throw new CliError(`PINGER_LOG_FORMAT must be json or pretty, got ${JSON.stringify(fromEnv)}`);
  }
  return stderrIsTTY ? 'pretty' : 'json';
}

/**
 * `pinger up` runs both halves in one process: a line says which one spoke, unless its message already does
 * (the agent's own messages start with `[agent…]`).
 */
function prefixComponent(log: Record<string, unknown>, messageKey: string): string {
  const message = String(log[messageKey] ?? '');
  const component = log.component;
  return typeof component === 'string' && !message.startsWith(`[${component}`)
    ? `[${component}] ${message}`
    : message;
}

export interface CliLoggerOptions {
  /** pino's `name`: which program wrote the line (JSON only; a terminal knows what it runs). */
  name: string;
  format: LogFormat;
  level?: string;
}

/**
 * A pino logger on stderr. Writes are synchronous in both formats, so the last lines before an exit or a crash
 * are not lost in a buffer, and pretty lines interleave correctly with what the command prints on stdout.
 */
export async function createCliLogger(options: CliLoggerOptions): Promise<Logger> {
  // Loaded here so that the short admin commands never load a logger.
  const { default: pino } = await import('pino');
  const level = options.level ?? process.env.PINGER_LOG_LEVEL ?? 'info';
  if (options.format === 'json') {
    return pino({ name: options.name, level }, pino.destination({ fd: 2, sync: true }));
  }
  // In-process stream, not a transport worker: no thread to start, and nothing to flush at exit.
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,component',
    messageFormat: prefixComponent,
    singleLine: true,
  });
  return pino({ name: options.name, level }, stream);
}
