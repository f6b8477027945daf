import { readFileSync } from 'node:fs';

/** Packets of a captured fixture (test/fixtures/packets/NAME.hex), one Buffer each, IP header first. */
export function capturedPackets(name: string): Buffer[] {
  const text = readFileSync(new URL(`../../fixtures/packets/${name}.hex`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => Buffer.from(line, 'hex'));
}

/** Bytes from hex written with spaces, newlines and `//` comments (one field a line in the tests). */
export function hex(text: string): Buffer {
  const digits = text.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** Names of all captured fixtures. */
export const CAPTURES = [
  'icmp-echo-v4',
  'icmp-echo-v6',
  'tcp-rst-v4',
  'tcp-rst-v6',
  'tcp-synack-v4',
  'tcp-synack-v6',
  'udp-unreachable-v4',
  'udp-unreachable-v6',
  'ttl-exceeded-icmp-v4',
  'ttl-exceeded-icmp-v6',
  'ttl-exceeded-udp-v4',
  'ttl-exceeded-udp-v6',
  'ttl-exceeded-tcp-v4',
  'ttl-exceeded-tcp-v6',
  'unreachable-icmp-v4',
  'unreachable-icmp-v6',
] as const;
