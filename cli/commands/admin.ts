/**
 * The admin commands: `source`, `dest`, `census`, `results`, `stats` and `token`, each a client of the control plane's HTTP API
 * (see cli/client.ts). Connection options on every command: `--url`/PINGER_URL, `--token`/PINGER_TOKEN, `--json`.
 */
import type { Command } from 'commander';
import { type Io, processIo } from '../api-command.js';
import { register as registerCensus } from './census.js';
import { register as registerDestination } from './destination.js';
import { register as registerResults } from './results.js';
import { register as registerSource } from './source.js';
import { register as registerStats } from './stats.js';
import { register as registerToken } from './token.js';

/** Registers the admin command groups; `io` is where they write (the process's streams unless a test says). */
export function register(program: Command, io: Io = processIo): void {
  registerSource(program, io);
  registerDestination(program, io);
  registerCensus(program, io);
  registerResults(program, io);
  registerStats(program, io);
  registerToken(program, io);
}
