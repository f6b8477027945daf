import { checkWindow, PacketError } from './errors.js';

/**
 * IP addresses between text and bytes, for pseudo-headers and for naming who answered. Hand-written because the
 * codecs stay free of `node:*`; output matches Node's own formatting (RFC 5952: lowercase, longest zero run
 * compressed, IPv4-mapped as `::ffff:a.b.c.d`).
 */

/** Formats the 4 bytes at `offset` as a dotted quad. */
export function formatIpv4(buf: Uint8Array, offset = 0): string {
  checkWindow('ipv4 address', buf, offset, offset + 4);
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Parses a dotted quad (no leading zeros, each part 0–255) into 4 bytes. */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split('.');
  const out = new Uint8Array(4);
  if (parts.length !== 4) throw badAddress(text, 'IPv4', 'expected four dot-separated parts');
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) {
      throw badAddress(text, 'IPv4', 'each part must be a decimal 0–255 without leading zeros');
    }
    out[i] = Number(p);
  }
  return out;
}

/** Formats the 16 bytes at `offset` as RFC 5952 text. */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  checkWindow('ipv6 address', buf, offset, offset + 16);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!);
  // IPv4-mapped (::ffff:0:0/96) keeps its dotted tail, as Node and RFC 5952 §5 do.
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0) {
    if (words[5] === 0xffff) return `::ffff:${formatIpv4(buf, offset + 12)}`;
  }
  // Longest run of two or more zero words, first one on ties (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return hexGroups(words, 0, 8);
  return `${hexGroups(words, 0, bestStart)}::${hexGroups(words, bestStart + bestLen, 8)}`;
}

function hexGroups(words: number[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += i === from ? words[i]!.toString(16) : `:${words[i]!.toString(16)}`;
  return out;
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail; no zone id) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (lastColon >= 0 && body.indexOf('.', lastColon) > lastColon) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    body = body.slice(0, lastColon + 1);
    // "…:" before a dotted tail: keep "::" intact, otherwise drop the separator.
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) throw badAddress(text, 'IPv6', '"::" may appear once');
  const parseWords = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').map((w) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw badAddress(text, 'IPv6', `bad group "${w}"`);
          return Number.parseInt(w, 16);
        });
  const head = parseWords(halves[0]!);
  const rest = halves.length === 2 ? parseWords(halves[1]!) : [];
  const given = head.length + rest.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) {
    throw badAddress(text, 'IPv6', 'wrong number of groups');
  }
  const words = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Parses either family: 4 bytes for IPv4 text, 16 for IPv6 text. */
export function parseIp(text: string): Uint8Array {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

function badAddress(text: string, family: string, rule: string): PacketError {
  return new PacketError('bad-field', `address "${text}" is not ${family}: ${rule}`);
}
