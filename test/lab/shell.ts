/**
 * Running lab commands: `ip`, `nft`, `sysctl` on the host, and anything inside a namespace with `ip netns exec`.
 * Every call is bounded in time; a failure throws with the command, its exit code and its stderr.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A lab command that failed, with what it printed. */
export class LabCommandError extends Error {
  override name = 'LabCommandError';
}

/** Runs `argv` (no shell) and returns its stdout; throws {@link LabCommandError} on a non-zero exit or after 20 s. */
export async function run(argv: readonly string[], input?: string): Promise<string> {
  const [file, ...args] = argv;
  if (!file) throw new LabCommandError('[lab] empty command');
  try {
    const child = execFileAsync(file, args, { timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout } = await child;
    return stdout;
  } catch (err) {
    const e = err as { code?: number | string; stderr?: string };
    throw new LabCommandError(`[lab] ${argv.join(' ')} failed (${e.code}): ${(e.stderr ?? '').trim()}`, {
      cause: err,
    });
  }
}

/** Runs `argv` inside network namespace `ns`. */
export function runIn(ns: string, argv: readonly string[], input?: string): Promise<string> {
  return run(['ip', 'netns', 'exec', ns, ...argv], input);
}
