/**
 * The world of the agent failure tests: the lab (agent ─ router ─ target namespaces) plus
 *
 * - `targets` extra addresses on the target's interface (198.18.2.10, .11, …), one per destination, so that every
 *   destination has its own address (the probers demultiplex answers by address and seq) and the target's kernel
 *   answers every echo request across the router — real packets on a wire;
 * - a veth between the root namespace and the agent's namespace with a random /30 out of 198.19.0.0/16, so the
 *   control plane (and the fault proxy) run in the root namespace where the test reads them, and the agent in its
 *   namespace reaches them over that link. Nothing gets a route beyond the /30.
 *
 * {@link FailureLab.destroy} removes all of it (the root end of the veth goes with the namespace too).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Lab } from '../../lab/lab.js';
import { run } from '../../lab/shell.js';

export interface FailureLab {
  lab: Lab;
  /** The root namespace's end of the control link: where the control plane and the proxy listen. */
  controlHost: string;
  /** Addresses on the target, one per destination. */
  targets: string[];
  /** The control link's two ends: `link` in the root namespace, `c0` in the agent's. */
  controlLink: { root: string; agent: 'c0' };
  destroy(): Promise<void>;
}

/** Builds the lab with `targets` target addresses (at most 240) and the control link. */
export async function createFailureLab(targets: number): Promise<FailureLab> {
  if (targets > 240) throw new RangeError('[failure-lab] at most 240 target addresses');
  const lab = await Lab.create();
  const link = `pgf${randomBytes(4).toString('hex')}`;
  const destroy = async () => {
    await run(['ip', 'link', 'del', link]).catch(() => undefined);
    await lab.destroy();
  };
  try {
    const addresses = Array.from({ length: targets }, (_, i) => `198.18.2.${10 + i}`);
    // `ip -batch` adds them in one process instead of one `ip` per address.
    if (addresses.length > 0) {
      const batch = addresses.map((a) => `addr add ${a}/24 dev t0`).join('\n');
      await run(['ip', '-n', lab.target, '-batch', '-'], `${batch}\n`);
    }

    const base = await freeSlash30();
    const controlHost = `198.19.${base[0]}.${base[1] + 1}`;
    const agentSide = `198.19.${base[0]}.${base[1] + 2}`;
    await run(['ip', 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'c0', 'netns', lab.agent]);
    await run(['ip', 'addr', 'add', `${controlHost}/30`, 'dev', link]);
    await run(['ip', 'link', 'set', link, 'up']);
    await run(['ip', '-n', lab.agent, 'addr', 'add', `${agentSide}/30`, 'dev', 'c0']);
    await run(['ip', '-n', lab.agent, 'link', 'set', 'c0', 'up']);
    return { lab, controlHost, targets: addresses, controlLink: { root: link, agent: 'c0' }, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** A /30 in 198.19.0.0/16 that no interface of the root namespace uses yet (other test runs may hold some). */
async function freeSlash30(): Promise<[number, number]> {
  for (let i = 0; i < 20; i++) {
    const c = randomInt(0, 256);
    const d = randomInt(0, 64) * 4;
    const used = await run(['ip', '-4', '-o', 'addr', 'show', 'to', `198.19.${c}.${d}/30`]);
    if (used.trim() === '') return [c, d];
  }
  throw new Error('[failure-lab] no free /30 in 198.19.0.0/16 after 20 tries');
}
