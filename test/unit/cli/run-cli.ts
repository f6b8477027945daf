/**
 * Runs admin commands in-process against a given URL, capturing what they print and the exit code `pinger`
 * would return, the way cli/run.ts decides it.
 */
import { Command, CommanderError } from 'commander';
import { register } from '../../../cli/commands/admin.js';
import { CliError } from '../../../cli/errors.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: { url: string; token?: string }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = (s: string) => {
    stdout += s;
  };
  const err = (s: string) => {
    stderr += s;
  };
  const program = new Command('pinger').exitOverride().configureOutput({ writeOut: out, writeErr: err });
  register(program, { stdout: out, stderr: err });
  const connection = ['--url', env.url, ...(env.token === undefined ? [] : ['--token', env.token])];
  try {
    await program.parseAsync([...args, ...connection], { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CommanderError) return { code: err.exitCode === 0 ? 0 : 2, stdout, stderr };
    if (err instanceof CliError)
      return { code: err.exitCode, stdout, stderr: `${stderr}pinger: ${err.message}\n` };
    throw err;
  }
}
