/**
 * Real processes for end-to-end tests: a long-running `pinger serve|agent|up` spawned from bin/pinger.js (its
 * output kept line by line, waited on with a deadline, stopped by pid with SIGTERM then SIGKILL after a bound),
 * and one-shot commands run to completion. Every wait here is bounded; nothing sleeps.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The root of this checkout. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The `pinger` command of this checkout. */
export const BIN = `${ROOT}bin/pinger.js`;

/** How a process ended: its exit code, or null when a signal ended it (`signal` says which). */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a command run to completion printed, and how it ended. */
export interface Outcome extends Exit {
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child `pinger`: this one's without any PINGER_* the developer (or another helper in this
 * worker, such as a booted Lambda) may have set, so a test sees only the variables it passes in `extra`.
 */
export function pingerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('PINGER_')) delete env[key];
  return { ...env, ...extra };
}

type Stream = 'stdout' | 'stderr';

export interface WaitOptions {
  /** The line index to start from (e.g. `proc.stderr.length` before an action), 0 by default. */
  after?: number;
  /** The deadline, 15 s by default. */
  timeoutMs?: number;
}

export interface PingerProcess {
  child: ChildProcess;
  /** Every complete stdout line so far. */
  stdout: string[];
  /** Every complete stderr line so far (pino JSON for the long-running commands). */
  stderr: string[];
  /** Everything printed so far, including a last line without its newline. */
  output(): { stdout: string; stderr: string };
  /** The stderr lines parsed as pino JSON; a line that is not JSON is kept as `{ raw }`. */
  logs(): Record<string, unknown>[];
  /** Resolves once the process has exited and its output is fully read. */
  exited: Promise<Exit>;
  /**
   * Resolves with the first line of `stream`, from line index `after` on, that matches `pattern` (the regexp's
   * match, or the line for a predicate); rejects with the output so far past `timeoutMs` or when the process exits
   * first.
   */
  waitForLine(stream: Stream, pattern: RegExp, options?: WaitOptions): Promise<RegExpExecArray>;
  waitForLine(stream: Stream, pattern: (line: string) => boolean, options?: WaitOptions): Promise<string>;
  /** Sends `signal` by pid if the process is still running. */
  kill(signal?: NodeJS.Signals): void;
  /** Sends `signal`, then SIGKILL after `graceMs`; resolves with how it ended and how long that took. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit & { ms: number }>;
}

export interface SpawnPingerOptions {
  /** PINGER_* (and other) variables for the child, on top of {@link pingerEnv}. */
  env?: Record<string, string>;
  cwd?: string;
  /** Options for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** A built `pinger` executable (the packaged agent, say) to run instead of `node bin/pinger.js`. */
  command?: string;
}

/** Spawns `node [nodeArgs] bin/pinger.js ...args` (or `command ...args`) with its output piped and kept. */
export function spawnPinger(args: readonly string[], options: SpawnPingerOptions = {}): PingerProcess {
  const [file, argv] = options.command
    ? [options.command, [...args]]
    : [process.execPath, [...(options.nodeArgs ?? []), BIN, ...args]];
  const child = spawn(file, argv, {
    cwd: options.cwd ?? ROOT,
    env: pingerEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const text = { stdout: '', stderr: '' };
  // Waiters re-check on every new line and once at the exit.
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const w of [...wakers]) w();
  };
  for (const name of ['stdout', 'stderr'] as const) {
    let rest = '';
    child[name].setEncoding('utf8').on('data', (chunk: string) => {
      text[name] += chunk;
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      if (parts.length === 0) return;
      lines[name].push(...parts);
      wake();
    });
  }
  let ended = false;
  const exited = (once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>).then(
    ([code, signal]) => {
      ended = true;
      wake();
      return { code, signal };
    },
  );
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const dump = () => `stdout:\n${text.stdout}\nstderr:\n${text.stderr}`;

  return {
    child,
    stdout: lines.stdout,
    stderr: lines.stderr,
    output: () => ({ ...text }),
    logs: () =>
      lines.stderr.map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { raw: line };
        }
      }),
    exited,
    kill,
    waitForLine: ((
      stream: Stream,
      pattern: RegExp | ((line: string) => boolean),
      { after = 0, timeoutMs = 15_000 }: WaitOptions = {},
    ) => {
      const test = (line: string) =>
        typeof pattern === 'function' ? (pattern(line) ? line : null) : pattern.exec(line);
      return new Promise<RegExpExecArray | string>((resolve, reject) => {
        let seen = after;
        const done = () => {
          clearTimeout(timer);
          wakers.delete(check);
        };
        const check = () => {
          for (; seen < lines[stream].length; seen++) {
            const found = test(lines[stream][seen]!);
            if (found) {
              done();
              resolve(found);
              return;
            }
          }
          if (ended) {
            done();
            reject(
              new Error(`[e2e] pinger ${args[0]} exited before a ${stream} line ${pattern}:\n${dump()}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `[e2e] no ${stream} line ${pattern} from pinger ${args[0]} in ${timeoutMs} ms:\n${dump()}`,
            ),
          );
        }, timeoutMs);
        wakers.add(check);
        check();
      });
    }) as PingerProcess['waitForLine'],
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      const started = performance.now();
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      try {
        return { ...(await exited), ms: performance.now() - started };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface ExecOptions extends SpawnOptions {
  /** SIGKILL past this many milliseconds. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string;
}

/** Runs `file args` and resolves when it exits, never throwing for a non-zero exit; SIGKILLs it after `timeoutMs`. */
export async function exec(
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<Outcome> {
  const { timeoutMs = 30_000, input, ...spawnOptions } = options;
  const child = spawn(file, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
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
  options: ExecOptions = {},
): Promise<Outcome> {
  const outcome = await exec(file, args, options);
  if (outcome.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} exited ${outcome.code ?? outcome.signal}\n${outcome.stdout}\n${outcome.stderr}`,
    );
  }
  return outcome;
}

/** Runs `pinger ...args` to completion (SIGKILLed after `timeoutMs`) with only `env` as its PINGER_* variables. */
export function runPinger(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Outcome> {
  return exec(process.execPath, [BIN, ...args], { cwd: ROOT, env: pingerEnv(env), timeoutMs });
}
