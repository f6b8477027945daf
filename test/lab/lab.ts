/**
 * The lab: three network namespaces in a chain, agent ─ router ─ target, over veth pairs, dual stack, with no
 * route anywhere but each other (addresses from 198.18.0.0/15 and fd00:198:18::/48 only).
 *
 *   agent  a0 198.18.1.2/24  fd00:198:18:1::2/64
 *            │
 *   router r0 198.18.1.1/24  fd00:198:18:1::1/64    forwarding on, ICMP rate limits 0
 *          r1 198.18.2.1/24  fd00:198:18:2::1/64
 *            │
 *   target t0 198.18.2.2/24  fd00:198:18:2::2/64
 *
 * With `{ census: true }`, the target also answers for every address of {@link CENSUS_PREFIX} and
 * {@link CENSUS_PREFIX6} (`local` routes on its loopback), and the agent and router route them to it: a whole /16
 * and a /112 of hosts for census sweeps.
 *
 * Names carry the pid and a random part so that concurrent test runs on one machine never meet. Call
 * {@link Lab.destroy} in `afterAll`; it is idempotent and also runs on process exit as a last resort.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run, runIn } from './shell.js';

/** Addresses of the lab, by role and family. */
export const LAB = {
  agent: { v4: '198.18.1.2', v6: 'fd00:198:18:1::2' },
  /** The router's address facing the agent: the source of its time-exceeded and reject answers. */
  router: { v4: '198.18.1.1', v6: 'fd00:198:18:1::1' },
  routerTarget: { v4: '198.18.2.1', v6: 'fd00:198:18:2::1' },
  target: { v4: '198.18.2.2', v6: 'fd00:198:18:2::2' },
} as const;

/** The prefix a census lab's target answers for (within 198.18.0.0/15, routed only inside the lab). */
export const CENSUS_PREFIX = '198.19.0.0/16';
/** Its IPv6 counterpart (within fd00:198:18::/48): 65,536 addresses. */
export const CENSUS_PREFIX6 = 'fd00:198:18:5::/112';

/** What to build beyond the chain. */
export interface LabOptions {
  /** Route {@link CENSUS_PREFIX} and {@link CENSUS_PREFIX6} to the target, which answers for all of them. */
  census?: boolean;
}

const live = new Set<Lab>();
process.once('exit', () => {
  // Synchronous last resort when a test process dies without running afterAll.
  for (const lab of live) lab.destroySync();
});

/** Sysctls set in every namespace: no ICMP rate limits, no DAD delay, no IPv6 router solicitation noise. */
const COMMON_SYSCTLS = [
  'net.ipv4.icmp_ratelimit=0',
  'net.ipv4.icmp_msgs_per_sec=1000000',
  'net.ipv4.icmp_msgs_burst=1000000',
  'net.ipv6.icmp.ratelimit=0',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.router_solicitations=0',
  'net.ipv6.conf.default.router_solicitations=0',
  'net.ipv6.conf.all.disable_ipv6=0',
  'net.ipv6.conf.default.disable_ipv6=0',
];

/** A built lab: namespace names and helpers to run commands in them. */
export class Lab {
  readonly agent: string;
  readonly router: string;
  readonly target: string;
  #destroyed = false;

  private constructor(prefix: string) {
    this.agent = `${prefix}-a`;
    this.router = `${prefix}-r`;
    this.target = `${prefix}-t`;
  }

  /** Builds a fresh lab; on any failure, removes what it made and rethrows. */
  static async create(options: LabOptions = {}): Promise<Lab> {
    const lab = new Lab(`pgl-${process.pid}-${randomBytes(3).toString('hex')}`);
    live.add(lab);
    try {
      await lab.#build();
      if (options.census) await lab.#routeCensus();
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  get namespaces(): string[] {
    return [this.agent, this.router, this.target];
  }

  async #build(): Promise<void> {
    // A few `ip -batch` and `sysctl` processes rather than one per setting: a lab is built by every lab and failure
    // test file, and some 50 processes one after another cost seconds on a loaded machine.
    await run(['ip', '-batch', '-'], this.namespaces.map((ns) => `netns add ${ns}\n`).join(''));
    await Promise.all(
      this.namespaces.map((ns) =>
        this.#sysctls(ns, [
          ...COMMON_SYSCTLS,
          ...(ns === this.router ? ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'] : []),
        ]),
      ),
    );
    // The veths are made from the agent and target ends, so the router's batch finds both of its ends there.
    await this.#batch(this.agent, [
      'link set lo up',
      `link add a0 type veth peer name r0 netns ${this.router}`,
      `addr add ${LAB.agent.v4}/24 dev a0`,
      `addr add ${LAB.agent.v6}/64 dev a0 nodad`,
      'link set a0 up',
    ]);
    await this.#batch(this.target, [
      'link set lo up',
      `link add t0 type veth peer name r1 netns ${this.router}`,
      `addr add ${LAB.target.v4}/24 dev t0`,
      `addr add ${LAB.target.v6}/64 dev t0 nodad`,
      'link set t0 up',
    ]);
    await this.#batch(this.router, [
      'link set lo up',
      `addr add ${LAB.router.v4}/24 dev r0`,
      `addr add ${LAB.router.v6}/64 dev r0 nodad`,
      'link set r0 up',
      `addr add ${LAB.routerTarget.v4}/24 dev r1`,
      `addr add ${LAB.routerTarget.v6}/64 dev r1 nodad`,
      'link set r1 up',
    ]);
    // Only routes to each other: nothing here can reach beyond the lab.
    await this.#batch(this.agent, [
      `route add 198.18.2.0/24 via ${LAB.router.v4}`,
      `route add fd00:198:18:2::/64 via ${LAB.router.v6}`,
    ]);
    await this.#batch(this.target, [
      `route add 198.18.1.0/24 via ${LAB.routerTarget.v4}`,
      `route add fd00:198:18:1::/64 via ${LAB.routerTarget.v6}`,
    ]);
    // Neighbour discovery takes its time on fresh links: wait (bounded) until both families get through, so that
    // no test sees a first probe delayed by address resolution.
    await Promise.all([LAB.target.v4, LAB.target.v6].map((address) => this.#waitReachable(address)));
  }

  /** Runs `ip` commands (one per line, no `ip` in front) in namespace `ns`, in one process; stops at the first error. */
  async #batch(ns: string, commands: readonly string[]): Promise<void> {
    await run(['ip', '-n', ns, '-batch', '-'], `${commands.join('\n')}\n`);
  }

  async #routeCensus(): Promise<void> {
    await runIn(this.target, ['ip', 'route', 'add', 'local', CENSUS_PREFIX, 'dev', 'lo']);
    await run(['ip', '-n', this.router, 'route', 'add', CENSUS_PREFIX, 'via', LAB.target.v4]);
    await run(['ip', '-n', this.agent, 'route', 'add', CENSUS_PREFIX, 'via', LAB.router.v4]);
    await runIn(this.target, ['ip', '-6', 'route', 'add', 'local', CENSUS_PREFIX6, 'dev', 'lo']);
    await run(['ip', '-n', this.router, '-6', 'route', 'add', CENSUS_PREFIX6, 'via', LAB.target.v6]);
    await run(['ip', '-n', this.agent, '-6', 'route', 'add', CENSUS_PREFIX6, 'via', LAB.router.v6]);
    await this.#waitReachable('198.19.0.1');
    await this.#waitReachable('fd00:198:18:5::1');
  }

  async #waitReachable(address: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await runIn(this.agent, ['ping', '-c', '1', '-W', '1', address]);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
  }

  async #sysctls(ns: string, settings: readonly string[]): Promise<void> {
    // All in one process; should one fail, one at a time, to tell which.
    const all = await runIn(ns, ['sysctl', '-q', '-w', ...settings]).then(
      () => true,
      () => false,
    );
    if (all) return;
    for (const setting of settings) {
      // Some knobs (icmp_msgs_per_sec) are per-namespace only on newer kernels: best effort for those.
      await runIn(ns, ['sysctl', '-q', '-w', setting]).catch((err) => {
        if (!setting.includes('icmp_msgs')) throw err;
      });
    }
  }

  /** Sets sysctls in one namespace of this lab. */
  sysctl(ns: string, ...settings: string[]): Promise<void> {
    return this.#sysctls(ns, settings);
  }

  /** Removes the namespaces (their veths go with them). Idempotent. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    live.delete(this);
    for (const ns of this.namespaces) await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  }

  /** The same, synchronously, for process exit. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    // An exit handler cannot await: delete synchronously.
    for (const ns of this.namespaces) {
      try {
        spawnSyncQuiet(['ip', 'netns', 'del', ns]);
      } catch {
        // Nothing left to do at exit.
      }
    }
  }
}

function spawnSyncQuiet(argv: string[]): void {
  const [file, ...args] = argv;
  if (file) spawnSync(file, args, { stdio: 'ignore', timeout: 5000 });
}
