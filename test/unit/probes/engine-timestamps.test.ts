/**
 * The engine tells where each open socket's arrival times come from, so that the agent can say it (a log line and
 * a metric): with the addon built, the kernel's for every kind of socket. Root: raw sockets (nothing is sent).
 */
import { describe, expect, it } from 'vitest';
import { ProbeEngine } from '../../../agent/probes/engine.js';

describe('ProbeEngine.receiveTimestamps', () => {
  it('names every open socket, each stamped by the kernel', () => {
    const engine = new ProbeEngine({ sourceid: 7 });
    try {
      expect(engine.receiveTimestamps()).toEqual({});
      engine.prober('icmp');
      engine.prober('udp6');
      engine.prober('tcp');
      expect(engine.receiveTimestamps()).toEqual({
        icmp4: 'kernel',
        icmp6: 'kernel',
        udp6: 'kernel',
        tcp4: 'kernel',
      });
    } finally {
      engine.close();
    }
  });
});
