/**
 * `pinger` run inside a lab's agent namespace: its CLI against a control plane there (JSON parsed), and long-lived
 * `pinger serve` / `pinger agent` processes. Shared by the lab tests that drive the built CLI.
 */
import { BIN, type PingerProcess, spawnPinger } from '../helpers/pinger-process.js';
import type { Lab } from './lab.js';
import { runToEnd } from './process.js';

/** `pinger <args> --url <url> --token <token> --json` in the agent namespace; its output parsed, or throws. */
export async function labCli<T>(lab: Lab, url: string, token: string, ...args: string[]): Promise<T> {
  const { code, stdout, stderr } = await runToEnd(
    lab.agent,
    [process.execPath, BIN, ...args, '--url', url, '--token', token, '--json'],
    20_000,
  );
  if (code !== 0) throw new Error(`pinger ${args.join(' ')} exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as T;
}

/** An unprivileged user to run an agent as, with CAP_NET_RAW only (as a packaged agent runs). */
export interface LabUser {
  uid: number;
  gid: number;
}

/**
 * Starts `pinger <args>` in the agent namespace, as root, or as `user` with the one capability an agent needs
 * (setpriv execs in place, so the process's pid is the agent's). Files it writes must be writable by that user.
 */
export function spawnInLab(
  lab: Lab,
  args: string[],
  env: Record<string, string> = {},
  user?: LabUser,
): PingerProcess {
  const asUser = user
    ? [
        'setpriv',
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        '--clear-groups',
        '--inh-caps=+net_raw',
        '--ambient-caps=+net_raw',
      ]
    : [];
  return spawnPinger(['netns', 'exec', lab.agent, ...asUser, process.execPath, BIN, ...args], {
    command: 'ip',
    env,
  });
}
