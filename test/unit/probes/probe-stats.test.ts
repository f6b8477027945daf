import { describe, expect, it } from 'vitest';
import type { ProbeOutcome } from '../../../agent/probes/types.js';
import { outcomeLine, TargetStats } from '../../../cli/probe-stats.js';

function outcome(over: Partial<ProbeOutcome>): ProbeOutcome {
  return {
    rtime: '1795300000000000000',
    target: '198.18.2.2',
    protocol: 'icmp',
    address: '198.18.2.2',
    rtt: 100,
    rtype: 0,
    rcode: 0,
    rid: 1,
    rseq: 0,
    datamatch: true,
    status: 'reply',
    ttl: 63,
    timing: { send: 'kernel', receive: 'kernel', lateness: 0 },
    ...over,
  };
}

describe('pinger probe summary', () => {
  it('counts loss from silence only, and RTT statistics in µs over the answers', () => {
    const s = new TargetStats('198.18.2.2', 'icmp');
    for (const rtt of [100, 200, 300]) s.add(outcome({ rtt }));
    s.add(outcome({ status: 'timeout', rtt: null, address: null }));
    expect(s).toMatchObject({ sent: 4, received: 3, loss: 25, answered: true });
    const r = s.rtt()!;
    expect([r.min, r.avg, r.max]).toEqual([100, 200, 300]);
    expect(r.stddev).toBeCloseTo(Math.sqrt(20_000 / 3), 9);
    expect(s.text()).toBe(
      '--- 198.18.2.2 icmp ---\n4 sent, 3 received, 25.0% loss, rtt min/avg/max/stddev = 0.100/0.200/0.300/0.082 ms\n',
    );
  });

  it('does not count a router answering (ttl-exceeded) as the target answering', () => {
    const s = new TargetStats('198.18.2.2', 'icmp');
    s.add(outcome({ status: 'ttl-exceeded', address: '198.18.1.1', rtype: 11 }));
    s.add(outcome({ status: 'unreachable', address: '198.18.1.1', rtype: 3, rcode: 13 }));
    expect(s).toMatchObject({ received: 2, answered: false });
    s.add(outcome({ status: 'unreachable', address: '198.18.2.2', rtype: 3, rcode: 3 }));
    expect(s.answered).toBe(true);
  });

  it('prints one line per outcome with microsecond precision', () => {
    expect(outcomeLine('t', outcome({ rtt: 1234.5678, datamatch: false }))).toBe(
      't seq=0: reply from 198.18.2.2 ttl=63 time=1.235 ms DATA MISMATCH\n',
    );
    expect(outcomeLine('t', outcome({ status: 'timeout', rtt: null, address: null }))).toBe(
      't seq=0: timeout\n',
    );
    expect(outcomeLine('t', outcome({ status: 'error', rtt: null, address: null, detail: 'no route' }))).toBe(
      't seq=0: error: no route\n',
    );
  });

  it('marks an RTT not timed by the kernel on both ends, on its line and in the summary', () => {
    const processSend = { send: 'process', receive: 'kernel', lateness: 0 } as const;
    expect(outcomeLine('t', outcome({ timing: processSend }))).toBe(
      't seq=0: reply from 198.18.2.2 ttl=63 time=0.100 ms timed=process-send\n',
    );
    expect(
      outcomeLine('t', outcome({ timing: { ...processSend, send: 'kernel', receive: 'process' } })),
    ).toMatch(/ timed=process-receive\n$/);
    expect(outcomeLine('t', outcome({ timing: undefined }))).toMatch(/ time=0\.100 ms timed=process\n$/);
    // A reset's RTT is marked like a reply's; a timeout has no RTT to mark.
    expect(
      outcomeLine('t', outcome({ status: 'reset', rtype: null, rcode: null, timing: processSend })),
    ).toMatch(/ timed=process-send\n$/);
    const s = new TargetStats('198.18.2.2', 'icmp');
    s.add(outcome({ timing: processSend }));
    s.add(outcome({}));
    s.add(
      outcome({ status: 'timeout', rtt: null, address: null, timing: { ...processSend, receive: null } }),
    );
    expect(s.processTimed).toBe(1);
    expect(s.text()).toContain('3 sent, 2 received, 33.3% loss, 1 timed by the process, rtt');
    expect(s.json()).toMatchObject({ summary: { processTimed: 1 } });
  });
});
