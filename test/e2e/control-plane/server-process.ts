/**
 * A real `pinger serve` process for end-to-end tests and the ingest benchmark: spawned with a free port and a
 * database file, its URL read from stdout, stopped by pid with a real signal.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnPinger } from '../../helpers/pinger-process.js';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Every stdout line so far. */
  stdout: string[];
  /** Every stderr line so far (pino JSON). */
  stderr: string[];
  /** Resolves with the first stderr log line (parsed pino JSON) whose `msg` is `msg`, seen after `after` lines. */
  waitForLog(msg: string, options?: { after?: number; timeoutMs?: number }): Promise<Record<string, unknown>>;
  /** Sends `signal` and waits (bounded) for the exit; resolves with the exit code or signal. */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  dbPath: string;
  /** Sets PINGER_ADMIN_TOKEN; omit to let the server generate one (printed on stdout). */
  adminToken?: string;
  /** Deadline for the server to print its URL. */
  timeoutMs?: number;
  logLevel?: string;
  /** Extra options for node itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

/** The `msg` of a pino JSON line, or undefined for any other line (a stack trace, say). */
function logMsg(line: string): unknown {
  try {
    return (JSON.parse(line) as Record<string, unknown>).msg;
  } catch {
    return undefined;
  }
}

/** Spawns `node bin/pinger.js serve --port 0 --db FILE` and waits for its "listening on" line. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const env: Record<string, string> = { PINGER_LOG_LEVEL: options.logLevel ?? 'warn' };
  if (options.adminToken !== undefined) env.PINGER_ADMIN_TOKEN = options.adminToken;
  const server = spawnPinger(['serve', '--port', '0', '--db', options.dbPath], {
    env,
    nodeArgs: options.nodeArgs,
  });
  let url: string;
  try {
    const listening = await server.waitForLine('stdout', /listening on (http:\/\/\S+)/, {
      timeoutMs: options.timeoutMs ?? 15_000,
    });
    url = listening[1]!;
  } catch (err) {
    await server.stop('SIGKILL');
    throw err;
  }
  return {
    url,
    child: server.child,
    stdout: server.stdout,
    stderr: server.stderr,
    async waitForLog(msg, { after = 0, timeoutMs = 5000 } = {}) {
      const line = await server.waitForLine('stderr', (l) => logMsg(l) === msg, { after, timeoutMs });
      return JSON.parse(line) as Record<string, unknown>;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      const { code, signal: ended } = await server.stop(signal, timeoutMs);
      return { code, signal: ended };
    },
  };
}
