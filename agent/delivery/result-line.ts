/**
 * A result as one line of JSON, written straight into the outbox's bytes: the same bytes as
 * `Buffer.from(JSON.stringify(result))`, without the string in between.
 *
 * Why: at 10,000 results a second, `JSON.stringify` per result (its generic serializer, a fresh string on the V8
 * heap, then a UTF-8 copy of it into the line buffer) was one of the agent's largest user-space costs. A result is
 * a flat object of strings, numbers, booleans and nulls whose strings are almost always plain ASCII (ids,
 * decimal nanoseconds, addresses, enum words), so each is copied a UTF-16 unit to a byte, and only a string that
 * needs escaping goes through `JSON.stringify` (its own escapes: `\"`, `\\`, `\n`, `\u001f`, lone surrogates as
 * `\udXXX`), then UTF-8. Numbers likewise: whole ones and rtts (whole nanoseconds / 1000) are written digit by
 * digit, as `String(n)` would spell them; only other numbers pay for `String(n)`.
 *
 * Exactly `JSON.stringify`'s output for a flat object, in the object's own key order (the probe engine builds
 * results in its order and adds `destination` last; valibot's output follows the schema's): a property whose value
 * is undefined, a function or a symbol is left out, a non-finite number is `null`, -0 is `0`, other numbers are
 * their own `String(n)`; a nested plain object (a result's `timing`) is written the same way, field by field; an
 * array (no result has one) by `JSON.stringify` whole.
 */
import type { ResultInput } from '../../contract/index.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const ZERO = 0x30;
const DOT = 0x2e;
/** Worst case for one UTF-16 unit of a string, escaped: `\u001f` or a lone surrogate's `\udXXX`. */
const MAX_BYTES_PER_UNIT = 6;
/** Longest `String(n)` of a number: 17 digits in plain notation just above 1e-6, `-0.0000012345678901234567`. */
const MAX_NUMBER_BYTES = 25;

const encoder = new TextEncoder();

/**
 * Writes `result` as JSON into `bytes` from `at`, using no byte at or past `limit`. Returns the offset after the
 * last byte written, or -1 when the room up to `limit` was too small (what was written is then garbage to
 * overwrite; call again with more room). A result of the contract's sizes takes a few hundred bytes.
 */
export function writeResultJson(result: ResultInput, bytes: Uint8Array, at: number, limit: number): number {
  return writeObject(result as unknown as Record<string, unknown>, bytes, at, limit);
}

/** {@link writeResultJson} for any plain object, nested ones included. */
function writeObject(object: Record<string, unknown>, bytes: Uint8Array, at: number, limit: number): number {
  if (at + 2 > limit) return -1;
  let p = at;
  bytes[p++] = OPEN;
  let first = true;
  // for…in, not Object.keys: the same order (own string keys, as created) without an array per result. A
  // result is a plain object (no enumerable inherited keys), as JSON.stringify's own-keys rule assumes here.
  for (const key in object) {
    const value: unknown = object[key];
    let json: string | undefined;
    let nested = false;
    switch (typeof value) {
      case 'undefined':
      case 'function':
      case 'symbol':
        continue;
      case 'object':
        // null is by far the usual object here; a plain object (timing) is written field by field below; anything
        // else (no result has one) as JSON.stringify writes it.
        if (value !== null && !Array.isArray(value) && (value as { toJSON?: unknown }).toJSON === undefined) {
          nested = true;
        } else if (value !== null) {
          json = JSON.stringify(value);
          if (json === undefined) continue;
        }
        break;
      case 'bigint':
        json = JSON.stringify(value); // throws, as JSON.stringify of the whole result does
    }
    // The key, a comma, a colon and the longest number or literal (a string value checks its own room).
    if (p + key.length * MAX_BYTES_PER_UNIT + 4 + MAX_NUMBER_BYTES > limit) return -1;
    if (first) first = false;
    else bytes[p++] = COMMA;
    p = writeString(key, bytes, p);
    bytes[p++] = COLON;
    if (typeof value === 'string') {
      if (p + value.length * MAX_BYTES_PER_UNIT + 2 > limit) return -1;
      p = writeString(value, bytes, p);
    } else if (typeof value === 'number') {
      p = writeNumber(value, bytes, p);
    } else if (value === true) {
      p = writeAscii('true', bytes, p);
    } else if (value === false) {
      p = writeAscii('false', bytes, p);
    } else if (nested) {
      p = writeObject(value as Record<string, unknown>, bytes, p, limit);
      if (p < 0) return -1;
    } else if (json === undefined) {
      p = writeAscii('null', bytes, p);
    } else {
      if (p + json.length * 3 > limit) return -1;
      p += encoder.encodeInto(json, bytes.subarray(p)).written;
    }
  }
  if (p >= limit) return -1;
  bytes[p++] = CLOSE;
  return p;
}

/** Writes `s` as a JSON string; the caller made room for the worst case (6 bytes a unit, and the quotes). */
function writeString(s: string, bytes: Uint8Array, at: number): number {
  let p = at;
  bytes[p++] = QUOTE;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII (and DEL, which JSON leaves as it is) is its own byte; anything else is escaped or
    // multi-byte: the whole string goes the slow way.
    if (c < 0x20 || c > 0x7f || c === QUOTE || c === BACKSLASH)
      return at + encoder.encodeInto(JSON.stringify(s), bytes.subarray(at)).written;
    bytes[p++] = c;
  }
  bytes[p++] = QUOTE;
  return p;
}

/** Writes a number as JSON.stringify does; room for {@link MAX_NUMBER_BYTES} was made. */
function writeNumber(n: number, bytes: Uint8Array, at: number): number {
  // Whole numbers 0 … 2^32-1 (every field of a result but rtt). -0 passes as 0, which is what JSON.stringify
  // writes for it.
  if (n >>> 0 === n) return writeWhole(n, bytes, at);
  // An rtt: microseconds with the nanoseconds as the fraction, i.e. the double nearest to k/1000 for a whole k.
  // Below 1e12 doubles are less than 2^-13 apart, so k/1000 is the only multiple of 0.001 that rounds to n, and no
  // decimal of as few digits but not such a multiple is as near: String(n), the shortest decimal that rounds to
  // n, is k/1000 without trailing zeros (and in plain notation, from 1e-6 up). String(n) itself costs a
  // shortest-digits search, several times this.
  if (n > 0 && n < 1e12) {
    const k = Math.round(n * 1000);
    if (k / 1000 === n) {
      const whole = Math.floor(k / 1000);
      let p = writeWhole(whole, bytes, at);
      let frac = k - whole * 1000;
      if (frac === 0) return p;
      bytes[p++] = DOT;
      for (let unit = 100; frac > 0; unit /= 10) {
        const digit = Math.floor(frac / unit);
        bytes[p++] = ZERO + digit;
        frac -= digit * unit;
      }
      return p;
    }
  }
  return writeAscii(Number.isFinite(n) ? String(n) : 'null', bytes, at);
}

/** Writes a whole number below 2^53 in decimal digits. */
function writeWhole(n: number, bytes: Uint8Array, at: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  let p = at + digits;
  let rest = n;
  do {
    const next = Math.floor(rest / 10);
    bytes[--p] = ZERO + rest - next * 10;
    rest = next;
  } while (rest > 0);
  return at + digits;
}

/** Writes a string known to be ASCII with nothing to escape (a number's or a literal's text). */
function writeAscii(s: string, bytes: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i);
  return at + s.length;
}
