/**
 * The options `pinger serve` and `pinger up` share: where the control plane listens, which SQLite file it uses,
 * how it logs, and how long it keeps results and rollups.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { parseRetention, type Retention, RetentionError } from '../contract/index.js';
import { CliError } from './errors.js';
import { type LogFormat, logFormatOption } from './log.js';

export interface ServerCliOptions {
  host: string;
  port: number;
  db?: string;
  logFormat?: LogFormat;
  retention?: Retention;
}

function parseRetentionOption(value: string): Retention {
  try {
    return parseRetention(value);
  } catch (err) {
    if (err instanceof RetentionError)
      throw new InvalidArgumentError(err.message.replace(/^\[retention\] /, ''));
    throw err;
  }
}

/** `--retention`, else `PINGER_RETENTION`, else undefined (the store's defaults). */
export function retentionOf(options: ServerCliOptions, env = process.env): Retention | undefined {
  if (options.retention) return options.retention;
  const text = env.PINGER_RETENTION;
  if (!text) return undefined;
  try {
    return parseRetention(text);
  } catch (err) {
    if (err instanceof RetentionError) {
      throw new CliError(`PINGER_RETENTION: ${err.message.replace(/^\[retention\] /, '')}`, 2, {
        cause: err,
      });
    }
    throw err;
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('must be a port number, 0–65535.');
  return port;
}

/**
 * Adds `--host`, `--port`, `--db`, `--log-format` and `--retention` with their defaults (127.0.0.1:8080,
 * `PINGER_DB` or ./data/pinger.db, `PINGER_RETENTION` or raw=14d,minute=60d,hour=2y,day=forever).
 */
export function addServerOptions(command: Command): Command {
  return command
    .option('--host <address>', 'address the control plane listens on', '127.0.0.1')
    .option('--port <n>', 'TCP port of the control plane (0 picks a free one)', parsePort, 8080)
    .option('--db <file>', 'SQLite database file (env PINGER_DB; default ./data/pinger.db)')
    .addOption(logFormatOption())
    .option(
      '--retention <kinds>',
      'how long to keep raw results and rollups, e.g. raw=14d,minute=60d,hour=2y,day=forever (env PINGER_RETENTION)',
      parseRetentionOption,
    );
}
