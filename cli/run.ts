/**
 * Runs a commander program and turns its outcome into an exit code. Shared by `pinger` (cli/main.ts) and the
 * installable agent (cli/agent-bin.ts), which register different command sets but must fail the same way.
 */
import { type Command, CommanderError } from 'commander';
import { CliError } from './errors.js';

/**
 * A reader that goes away (`pinger results --json | head -1`, `pinger --help | head`) is the end of the output,
 * not a crash: Node ignores SIGPIPE, so the write fails with EPIPE instead, and the command stops quietly as a
 * Unix tool would.
 */
function exitWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/** Parses `argv` and runs the command; exit 2 for usage errors and refused requests, the command's own code otherwise. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  exitWhenStdoutCloses();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`${program.name()}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
