/**
 * Child processes inside a lab namespace (`ip netns exec`): a process's network namespace cannot be switched
 * in-thread in Node, so probers and responders under test run as children.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The repository root, for script paths. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A TypeScript script run by node through tsx. */
export function tsxArgv(script: string, args: readonly string[]): string[] {
  return [process.execPath, '--import', 'tsx', `${ROOT}${script}`, ...args];
}

/** A long-running child that printed `ready`; {@link stop} ends it with SIGTERM and waits (bounded). */
export interface Service {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `argv` in namespace `ns` and waits (at most `readyMs`) until it prints `ready` on stdout. */
export async function startService(ns: string, argv: readonly string[], readyMs = 15_000): Promise<Service> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`[lab] ${argv.join(' ')} not ready in ${readyMs} ms: ${stderr}`)),
        readyMs,
      );
      child.stdout?.on('data', (d) => {
        out += d;
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`[lab] ${argv.join(' ')} exited (${code}) before ready: ${stderr}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { child, stop };
}

/**
 * Runs `argv` in namespace `ns` (here when null) to completion, killed after `timeoutMs`, and returns its exit
 * code and output.
 */
export async function runToEnd(
  ns: string | null,
  argv: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const full = ns === null ? [...argv] : ['ip', 'netns', 'exec', ns, ...argv];
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
