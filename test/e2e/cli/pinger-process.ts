/**
 * Real `pinger` processes for end-to-end tests: `node bin/pinger.js serve` as a long-running server, and
 * one-shot CLI runs. Every wait is bounded; the server is stopped by pid with SIGTERM (SIGKILL past a deadline).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = `${ROOT}bin/pinger.js`;

/** The environment of a child: this one's, without any PINGER_* the developer may have set, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PINGER_')) delete env[key];
  return { ...env, ...extra };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** The admin token the first start generated and printed. */
  adminToken: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `pinger serve --port 0 --db <db>` and waits (at most `readyMs`) for its URL and admin token. */
export async function startServe(db: string, readyMs = 20_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--db', db], {
    cwd: ROOT,
    env: childEnv({ PINGER_LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal };
  };

  const ready = new Promise<{ url: string; adminToken: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pinger serve not ready in ${readyMs} ms:\n${stdout}${stderr}`)),
      readyMs,
    );
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
      const adminToken = /admin token[^:]*: (pgr_admin_\S+)/.exec(stdout)?.[1];
      if (url && adminToken) {
        clearTimeout(timer);
        resolve({ url, adminToken });
      }
    };
    child.stdout.on('data', check);
    void exited.then(([code]) => {
      clearTimeout(timer);
      reject(new Error(`pinger serve exited (${code}) before it was ready:\n${stdout}${stderr}`));
    });
  });
  try {
    return { child, stop, ...(await ready) };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pinger ...args` to completion (killed after `timeoutMs`), with `env` as its PINGER_* variables. */
export async function pinger(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Runs `pinger ...args`, reads its first line and then closes the pipe, as `| head -1` would; resolves with
 * that line and how the process ended.
 */
export async function pingerFirstLine(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<CliRun & { firstLine: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let firstLine = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    const end = stdout.indexOf('\n');
    if (end >= 0 && firstLine === '') {
      firstLine = stdout.slice(0, end);
      child.stdout.destroy();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr, firstLine };
}
