/**
 * Running a command to its end for e2e tests: bounded in time, never throws for a non-zero exit (tests assert
 * on the code and the output).
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Outcome {
  /** Exit code, or null when a signal ended it (`signal` says which). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` and resolves when it exits; SIGKILLs it after `timeoutMs`. */
export async function exec(
  file: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number; input?: string } = {},
): Promise<Outcome> {
  const { timeoutMs = 30_000, input, ...spawnOptions } = options;
  const child = spawn(file, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  child.stdin?.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Like {@link exec}, but a non-zero exit throws with the command and what it printed. */
export async function execOk(
  file: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number; input?: string } = {},
): Promise<Outcome> {
  const outcome = await exec(file, args, options);
  if (outcome.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited ${outcome.code ?? outcome.signal}\n${outcome.stdout}\n${outcome.stderr}`,
    );
  }
  return outcome;
}
