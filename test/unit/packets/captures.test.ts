import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeIcmpv4Message,
  decodeIcmpv6Message,
  decodeIpv4Packet,
  decodeIpv6Packet,
  decodeTcp,
  decodeUdp,
  ipv6Addresses,
} from '../../../agent/packets/index.js';
import { CAPTURES, capturedPackets } from './fixture.js';

describe('every captured packet', () => {
  it('is listed, so that none escapes these tests and the fuzz corpus', () => {
    const files = readdirSync(new URL('../../fixtures/packets/', import.meta.url))
      .filter((f) => f.endsWith('.hex'))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(files).toEqual([...CAPTURES].sort());
  });

  it.each(CAPTURES)('%s decodes end to end, ICMP checksums verified', (name) => {
    const packets = capturedPackets(name);
    expect(packets.length).toBeGreaterThanOrEqual(2);
    for (const packet of packets) {
      const ip =
        packet[0]! >> 4 === 4
          ? decodeIpv4Packet(packet, 0, packet.length, { verifyChecksum: true })
          : decodeIpv6Packet(packet);
      expect(ip.payloadEnd).toBe(packet.length);
      const protocol = ip.version === 4 ? ip.protocol : ip.upperProtocol;
      if (protocol === 6)
        expect(decodeTcp(packet, ip.payloadOffset, ip.payloadEnd).headerLength).toBeGreaterThanOrEqual(20);
      else if (protocol === 17)
        expect(decodeUdp(packet, ip.payloadOffset, ip.payloadEnd).length).toBe(
          ip.payloadEnd - ip.payloadOffset,
        );
      else if (protocol === 1) expect(decodeIcmpv4Message(packet).kind).not.toBe('other');
      else if (protocol === 58) {
        const m = decodeIcmpv6Message(packet, ip.payloadOffset, ip.payloadEnd, {
          verifyChecksum: ipv6Addresses(packet),
        });
        expect(m.kind).not.toBe('other');
      } else throw new Error(`${name}: unexpected protocol ${protocol}`);
    }
  });
});
