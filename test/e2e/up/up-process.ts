/**
 * A real `pinger up` process: spawned in a directory of the test's own, its banner read from stdout, stopped by
 * pid with a real signal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The `pinger` command of this checkout. */
export const BIN = fileURLToPath(new URL('../../../bin/pinger.js', import.meta.url));

export interface UpProcess {
  child: ChildProcess;
  /** The control plane URL from the banner. */
  url: string;
  /** Everything printed on stdout up to the end of the banner. */
  banner: string;
  /** Sends `signal` and waits (at most `timeoutMs`, then SIGKILL) for the exit. */
  stop(
    signal: NodeJS.Signals,
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  stderr(): string;
}

/** Spawns `node bin/pinger.js up ARGS` in `cwd` and waits (at most `timeoutMs`) for its banner. */
export async function startUp(cwd: string, args: string[], timeoutMs = 30_000): Promise<UpProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, PINGER_LOG_LEVEL: 'warn' };
  for (const name of ['PINGER_ADMIN_TOKEN', 'PINGER_DB', 'PINGER_TOKEN', 'PINGER_URL']) delete env[name];
  const child = spawn(process.execPath, [BIN, 'up', ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`[e2e] pinger up printed no banner within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('Ctrl-C stops')) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(
        new Error(`[e2e] pinger up exited (${code ?? signal}) before its banner:\n${stdout}\n${stderr}`),
      );
    }, reject);
  });
  const url = /control plane on (http:\/\/\S+)/.exec(banner)?.[1];
  if (!url) throw new Error(`[e2e] no URL in the banner of pinger up:\n${banner}`);
  return {
    child,
    url,
    banner,
    stderr: () => stderr,
    async stop(signal, stopTimeoutMs) {
      const started = performance.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const [code, sig] = await exited;
      clearTimeout(timer);
      return { code, signal: sig, ms: performance.now() - started };
    },
  };
}
