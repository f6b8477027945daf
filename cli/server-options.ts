/**
 * The options `pinger serve` and `pinger up` share: where the control plane listens, which SQLite file it uses,
 * and how it logs.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type LogFormat, logFormatOption } from './log.js';

export interface ServerCliOptions {
  host: string;
  port: number;
  db?: string;
  logFormat?: LogFormat;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('must be a port number, 0–65535.');
  return port;
}

/** Adds `--host`, `--port`, `--db` and `--log-format` with their defaults (127.0.0.1:8080, `PINGER_DB` or ./data/pinger.db). */
export function addServerOptions(command: Command): Command {
  return command
    .option('--host <address>', 'address the control plane listens on', '127.0.0.1')
    .option('--port <n>', 'TCP port of the control plane (0 picks a free one)', parsePort, 8080)
    .option('--db <file>', 'SQLite database file (env PINGER_DB; default ./data/pinger.db)')
    .addOption(logFormatOption());
}
