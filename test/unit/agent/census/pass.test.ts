/** A census pass on a fake clock and prober: each address once, permuted, paced, retried, answers as results. */
import { describe, expect, it } from 'vitest';
import { startPass } from '../../../../agent/schedule/census/pass.js';
import { type Prefix, parsePrefix, type ResultInput } from '../../../../contract/index.js';
import { FakeClock } from '../fake-clock.js';
import { fakeProber } from './fake-prober.js';

const prefix = (s: string): Prefix => {
  const p = parsePrefix(s);
  if (!('prefix' in p)) throw new Error(p.issue);
  return p.prefix;
};
const destination = { id: 'dst_c', protocol: 'icmp' as const, port: null, ttl: 64, timeout: 200, data: '' };

function hostsOf(n: number, every: number): Set<string> {
  const alive = new Set<string>();
  for (let i = 1; i <= n; i += every) alive.add(`198.19.${i >> 8}.${i & 0xff}`);
  return alive;
}

describe('census pass', () => {
  it('probes each address once at the rate, then retries only the silent ones, and reports the answers', async () => {
    const clock = new FakeClock(1000);
    const alive = hostsOf(1022, 7);
    const prober = fakeProber(clock, alive);
    const answers: ResultInput[] = [];
    const pass = startPass({
      destination,
      prefix: prefix('198.19.0.0/22'),
      rate: 1000,
      retries: 1,
      prober,
      clock,
      seed: 1,
      onAnswer: (r) => answers.push(r),
    });
    // Paced: after 500 ms, about 500 probes (plus the first), never more.
    clock.advance(500);
    expect(prober.sent.length).toBeGreaterThanOrEqual(495);
    expect(prober.sent.length).toBeLessThanOrEqual(502);
    clock.advance(5000);
    const summary = await pass.done;
    const first = prober.sent.slice(0, 1022).map((p) => p.address);
    expect(new Set(first).size).toBe(1022);
    expect(first).not.toContain('198.19.0.0');
    expect(first).not.toContain('198.19.3.255');
    // Permuted: not in address order.
    expect(first.slice(0, 10)).not.toEqual([...first.slice(0, 10)].sort());
    const retried = prober.sent.slice(1022).map((p) => p.address);
    expect(new Set(retried)).toEqual(new Set(first.filter((a) => !alive.has(a))));
    // The retry round starts only after every first-round probe settled (no overlap of rounds).
    expect(prober.sent[1022]!.at).toBeGreaterThanOrEqual(prober.sent[1021]!.at + destination.timeout);
    expect(new Set(answers.map((a) => a.target))).toEqual(alive);
    expect(answers.every((a) => a.destination === 'dst_c' && a.status === 'reply')).toBe(true);
    expect(summary).toMatchObject({
      addresses: 1022,
      probed: 1022 + (1022 - alive.size),
      answered: alive.size,
      retries: 1022 - alive.size,
      errors: 0,
      rate: 1000,
      stopped: false,
    });
    // Two rounds at 1000/s, each ending with a timeout's wait for the silent addresses.
    const ms = Number(summary.end - summary.start) / 1e6;
    expect(ms).toBeGreaterThan(summary.probed + 2 * destination.timeout - 20);
    expect(ms).toBeLessThan(summary.probed + 2 * destination.timeout + 20);
  });

  it('takes only the tokens the shared budget spares', async () => {
    const clock = new FakeClock(0);
    const prober = fakeProber(clock, new Set());
    let granted = 0;
    // A budget that spares one token in two asks.
    let ask = 0;
    const budget = {
      spare: (n: number) => {
        const give = ask++ % 2 === 0 ? Math.min(n, 1) : 0;
        granted += give;
        return give;
      },
    };
    const pass = startPass({
      destination,
      prefix: prefix('198.19.0.0/24'),
      rate: 10_000,
      retries: 0,
      prober,
      clock,
      budget,
      onAnswer: () => undefined,
    });
    clock.advance(100);
    expect(prober.sent.length).toBe(granted);
    expect(prober.sent.length).toBeLessThan(60);
    clock.advance(2000);
    expect((await pass.done).probed).toBe(254);
  });

  it('stops early when asked, and still settles what is in flight', async () => {
    const clock = new FakeClock(0);
    const prober = fakeProber(clock, new Set());
    const pass = startPass({
      destination,
      prefix: prefix('198.19.0.0/20'),
      rate: 1000,
      retries: 3,
      prober,
      clock,
      onAnswer: () => undefined,
    });
    clock.advance(100);
    pass.stop();
    const sent = prober.sent.length;
    clock.advance(1000);
    const summary = await pass.done;
    expect(summary).toMatchObject({ stopped: true, probed: sent, answered: 0 });
    expect(prober.inflight).toBe(0);
  });

  it('with an empty answer set and a /32, is one probe', async () => {
    const clock = new FakeClock(0);
    const prober = fakeProber(clock, new Set(['198.19.4.9']));
    const pass = startPass({
      destination,
      prefix: prefix('198.19.4.9/32'),
      rate: 5000,
      retries: 1,
      prober,
      clock,
      onAnswer: () => undefined,
    });
    clock.advance(10);
    expect(await pass.done).toMatchObject({ addresses: 1, probed: 1, answered: 1, retries: 0 });
  });
});
