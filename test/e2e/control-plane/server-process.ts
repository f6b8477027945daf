/**
 * A real `pinger serve` process for end-to-end tests and the ingest benchmark: spawned with a free port and a
 * database file, its URL read from stdout, stopped by pid with a real signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/pinger.js', import.meta.url));

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

/** Spawns `node bin/pinger.js serve --port 0 --db FILE` and waits for its "listening on" line. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PINGER_LOG_LEVEL: options.logLevel ?? 'warn' };
  delete env.PINGER_ADMIN_TOKEN;
  delete env.PINGER_DB;
  if (options.adminToken !== undefined) env.PINGER_ADMIN_TOKEN = options.adminToken;
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), BIN, 'serve', '--port', '0', '--db', options.dbPath],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = (sink: string[], stream: NodeJS.ReadableStream, onLine?: (line: string) => void) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        sink.push(line);
        onLine?.(line);
      }
    });
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `[e2e] server printed no URL within ${options.timeoutMs ?? 15_000} ms: ${stderr.join('\n')}`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    lines(stdout, child.stdout!, (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    lines(stderr, child.stderr!);
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`[e2e] server exited (${code ?? signal}) before listening: ${stderr.join('\n')}`));
    });
  });
  return {
    url,
    child,
    stdout,
    stderr,
    async waitForLog(msg, { after = 0, timeoutMs = 5000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (let seen = after; ; ) {
        for (; seen < stderr.length; seen++) {
          try {
            const entry = JSON.parse(stderr[seen]!) as Record<string, unknown>;
            if (entry.msg === msg) return entry;
          } catch {
            // Not a log line (a stack trace, say): skip it.
          }
        }
        if (Date.now() > deadline) throw new Error(`[e2e] no "${msg}" log line within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const done = () => {
            child.stderr!.off('data', done).off('close', done);
            resolve();
          };
          child.stderr!.on('data', done).on('close', done);
        });
      }
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code, sig] = await exited;
      clearTimeout(timer);
      return { code, signal: sig };
    },
  };
}
