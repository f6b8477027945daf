/**
 * `pinger probe --sweep` refuses bad arguments before any probe leaves: exit 2 and the option named with the rule.
 * Runs the real `pinger` entry as a child; none of these cases opens a socket.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function pinger(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `${ROOT}cli/main.ts`, ...args],
      { timeout: 20_000 },
      (err, _stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
    );
  });
}

// Each case is a process of its own that opens no socket: they run at once rather than one after another.
describe.concurrent('pinger probe --sweep arguments', () => {
  it.for<[string[], string]>([
    [
      ['--sweep', '10.0.0.0/8'],
      '--sweep 10.0.0.0/8: is a /8 of 16,777,216 addresses; a census sweeps at most 65,536 (IPv4 /16 or longer)',
    ],
    [['--sweep', '198.19.0.0/16', '--rate', '0'], '--rate: must be at least 1'],
    [['--sweep', '198.19.0.0/16', '--retries', '6'], '--retries: must be at most 5'],
    [['--sweep', '198.19.0.0/16', '--protocol', 'tcp'], '--port: is required for protocol tcp'],
    [['--sweep', '198.19.0.0/16', '198.19.0.1'], '--sweep takes no other targets'],
    [['198.19.0.1', '--rate', '100'], '--rate and --retries go with --sweep'],
    [[], 'name at least one target, or a prefix with --sweep'],
  ])('refuses %j', async ([args, message], { expect }) => {
    const { code, stderr } = await pinger(['probe', ...args]);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
});
