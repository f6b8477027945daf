/**
 * `pinger`: one program, one module per command group under `commands/`. Each module registers its commands
 * and imports its heavy dependencies (SQLite, raw sockets) only when its command runs.
 */
import { Command } from 'commander';
import { register as registerAdmin } from './commands/admin.js';
import { register as registerAgent } from './commands/agent.js';
import { register as registerProbe } from './commands/probe.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerUp } from './commands/up.js';
import { runProgram } from './run.js';

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
export function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}

process.exitCode = await main(process.argv);
