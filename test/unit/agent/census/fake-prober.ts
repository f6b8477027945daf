/** A prober on a fake clock: the addresses in `alive` answer after `rttMs`, the others time out. */
import type { SweepFlight } from '../../../../agent/probes/sweep-flight.js';
import type { OutcomeCallback, ProbeOutcome, ProbeTarget } from '../../../../agent/probes/types.js';
import type { FakeClock } from '../fake-clock.js';

export interface SentProbe {
  at: number;
  address: string;
  seq: number;
}

export function fakeProber(clock: FakeClock, alive: Set<string>, rttMs = 1) {
  const sent: SentProbe[] = [];
  let inflight = 0;
  let maxInflight = 0;
  const send = (target: ProbeTarget, seq: number, done: OutcomeCallback) => {
    sent.push({ at: clock.now(), address: target.address, seq });
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    const up = alive.has(target.address);
    const outcome: ProbeOutcome = {
      rtime: clock.wallNs().toString(),
      target: target.address,
      protocol: target.protocol,
      address: up ? target.address : null,
      rtt: up ? rttMs * 1000 : null,
      rtype: up ? 0 : null,
      rcode: up ? 0 : null,
      rid: 1,
      rseq: seq,
      datamatch: up ? true : null,
      status: up ? 'reply' : 'timeout',
      ttl: up ? 64 : null,
    };
    clock.setTimer(
      () => {
        inflight--;
        done(outcome);
      },
      up ? rttMs : target.timeout,
    );
  };
  return {
    sent,
    send,
    sweep: (flight: SweepFlight, index: number, target: ProbeTarget) => send(target, index, flight.done),
    get inflight() {
      return inflight;
    },
    get maxInflight() {
      return maxInflight;
    },
  };
}
