/**
 * Entry of the installable agent, `pinger-agent`: the file `npm run build:agent` bundles into a Node single
 * executable. It registers only the agent-side commands (`agent`, `probe`), so the bundle carries neither SQLite
 * nor the AWS SDK nor the control plane; the build fails if either slips in.
 */
import { Command } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { register as registerAgent } from './commands/agent.js';
import { register as registerProbe } from './commands/probe.js';
import { runProgram } from './run.js';

/** The `pinger-agent` program: the same `agent` and `probe` commands as `pinger`, nothing else. */
export function buildAgentProgram(): Command {
  const program = new Command('pinger-agent')
    .description('Pinger agent: probes the destinations its control plane assigns and delivers every result')
    // The Node inside the single executable, not the one that built it: what an operator needs for a security notice.
    .version(`pinger-agent ${pkg.version} (node ${process.version})`)
    .showHelpAfterError()
    .exitOverride();
  registerAgent(program);
  registerProbe(program);
  return program;
}

// No top-level await: the single executable runs a CommonJS bundle.
runProgram(buildAgentProgram(), process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A missing addon is the operator's to fix and its message says how; anything else is a bug: full stack.
    const known = err instanceof Error && err.name === 'AddonLoadError';
    const text = err instanceof Error ? (known ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`pinger-agent: ${text}\n`);
    process.exitCode = 1;
  },
);
