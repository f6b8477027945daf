/**
 * `pinger`: one program, one module per command group under `commands/`. Each module registers its commands
 * and imports its heavy dependencies (SQLite, raw sockets) only when its command runs.
 */
import { Command, CommanderError } from 'commander';
import { register as registerAdmin } from './commands/admin.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerProbe } from './commands/probe.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerUp } from './commands/up.js';
import { CliError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('pinger')
    .description('Distributed network prober: control plane, agent and probe tools')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [registerServe, registerAdmin, registerProbe, registerAgent, registerUp])
    register(program);
  return program;
}

/** Runs the program; exit 2 for usage errors and refused requests, the command's own code otherwise. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`pinger: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv);
