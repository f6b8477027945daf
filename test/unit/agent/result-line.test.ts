import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../../../agent/delivery/line-buffer.js';
import { writeResultJson } from '../../../agent/delivery/result-line.js';
import { PROTOCOLS, type ResultInput, ResultInputSchema, STATUSES } from '../../../contract/index.js';
import { mulberry32 } from '../../helpers/prng.js';
import { result } from './fixtures.js';

// A fresh seed per run widens coverage over time; RESULT_LINE_SEED replays a failure (its message names it).
const seed = Number(process.env.RESULT_LINE_SEED ?? (Date.now() ^ (process.pid << 8)) >>> 0);
const random = mulberry32(seed);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

/** UTF-16 units that JSON escapes or encodes in more than one byte, and their neighbours. */
const NASTY_UNITS = [
  0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x2f, 0x5c, 0x7e, 0x7f, 0x80, 0xa0, 0xff, 0x100,
  0x7ff, 0x800, 0x2028, 0x2029, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfeff, 0xfffd, 0xffff,
];

/** A string: mostly what results carry, else any mix of plain ASCII, escapes, non-ASCII and (lone) surrogates. */
function randomString(): string {
  switch (int(6)) {
    case 0:
      return pick(['', 'dst_01HZX', '198.18.0.1', 'fd00:198:18::7', '1795000000000000000', 'reply', 'icmp6']);
    case 1:
      // Long enough to outgrow the room an encoder is first offered.
      return 'x'.repeat(500 + int(3000));
    default: {
      let s = '';
      for (let n = int(40); n > 0; n--) {
        const r = random();
        if (r < 0.5) s += String.fromCharCode(0x20 + int(0x60));
        else if (r < 0.8) s += String.fromCharCode(pick(NASTY_UNITS));
        else if (r < 0.9)
          s += String.fromCodePoint(0x10000 + int(0x100000)); // a surrogate pair
        else s += String.fromCharCode(int(0x10000));
      }
      return s;
    }
  }
}

const NASTY_NUMBERS = [
  -0.0000012345678901234567, // the longest String(n) there is
  0,
  -0,
  1,
  9,
  10,
  99,
  100,
  255,
  65_535,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  -1,
  -(2 ** 31),
  0.1 + 0.2,
  0.042,
  1e21,
  1e21 - 65_536,
  123e-20,
  1e-7,
  1e-6,
  -1e-7,
  5e-324,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  -2.2250738585072014e-308,
  Number.EPSILON,
  3_600_000_000,
  Math.PI,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

function randomNumber(): number {
  switch (int(5)) {
    case 0:
      return pick(NASTY_NUMBERS);
    case 1:
      return int(65_536);
    case 2:
      // An rtt as the engine makes it, whole nanoseconds / 1000, from 1 ns to past 1e12 µs (where the encoder's
      // shortcut for such numbers ends); now and then a hundredth or a ten-thousandth instead.
      return Math.floor(random() * 10 ** int(17)) / pick([1000, 1000, 1000, 100, 10_000]);
    case 3:
      return random() * 10 ** (int(40) - 20) * (random() < 0.2 ? -1 : 1);
    default:
      // Any double at all, from random bits.
      return new Float64Array(new Uint32Array([int(2 ** 32), int(2 ** 32)]).buffer)[0]!;
  }
}

/** Any JSON-able primitive, or undefined (left out by JSON.stringify). */
function randomValue(): unknown {
  switch (int(6)) {
    case 0:
      return randomString();
    case 1:
      return randomNumber();
    case 2:
      return random() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    default:
      return int(256);
  }
}

const KEYS = Object.keys(ResultInputSchema.pipe[0].entries) as (keyof ResultInput)[];

/**
 * A result with the contract's keys in a random order (the engine's order differs from the schema's), each value
 * either of its field's type or any primitive at all: the encoder must match JSON.stringify whatever it is given.
 */
function randomResult(): ResultInput {
  const keys = [...KEYS];
  for (let i = keys.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const typed: Record<string, () => unknown> = {
    destination: randomString,
    rtime: () =>
      random() < 0.5 ? `${BigInt(int(2 ** 31)) * 4_294_967_296n + BigInt(int(2 ** 32))}` : randomString(),
    target: randomString,
    protocol: () => pick(PROTOCOLS),
    address: () => (random() < 0.3 ? null : randomString()),
    rtt: () => (random() < 0.3 ? null : randomNumber()),
    rtype: () => (random() < 0.3 ? null : int(256)),
    rcode: () => (random() < 0.3 ? null : int(256)),
    rid: () => int(65_536),
    rseq: () => int(65_536),
    datamatch: () => pick([true, false, null]),
    status: () => pick(STATUSES),
    ttl: () => (random() < 0.3 ? null : int(256)),
    // Nested, its own keys in a random order too; any values: the encoder writes it field by field.
    timing: () => {
      const fields: [string, () => unknown][] = [
        ['send', () => pick(['kernel', 'process'])],
        ['receive', () => pick(['kernel', 'process', null])],
        ['lateness', () => int(2 ** 32)],
      ];
      const t: Record<string, unknown> = {};
      for (const [k, make] of fields.sort(() => random() - 0.5))
        t[k] = random() < 0.8 ? make() : randomValue();
      return random() < 0.2 ? undefined : t;
    },
  };
  const r: Record<string, unknown> = {};
  for (const key of keys) r[key] = random() < 0.8 ? typed[key]!() : randomValue();
  return r as ResultInput;
}

const expected = (r: unknown) => Buffer.from(JSON.stringify(r), 'utf8');
const replay = `seed ${seed}: rerun with RESULT_LINE_SEED=${seed}`;

const roomy = Buffer.alloc(64 * 1024);

/** `r` encoded alone into a roomy buffer (a view of it: valid until the next call). */
function encode(r: ResultInput): Buffer {
  const bytes = roomy;
  const end = writeResultJson(r, bytes, 3, bytes.length);
  expect(end, replay).toBeGreaterThan(3);
  return bytes.subarray(3, end);
}

describe('writeResultJson', () => {
  it('writes exactly the bytes of JSON.stringify for thousands of random results, nasty strings and numbers too', () => {
    for (let i = 0; i < 5000; i++) {
      const r = randomResult();
      const got = encode(r);
      if (!got.equals(expected(r))) {
        expect.fail(
          `${replay}, result #${i}\n  got      ${got.toString('utf8')}\n  expected ${JSON.stringify(r)}`,
        );
      }
    }
  });

  it('writes results as the agent makes them: valid ones, in the engine order (destination last), without a string', () => {
    const samples: ResultInput[] = [
      result('dst_a', 1),
      result('dst_a', 2, {
        status: 'timeout',
        address: null,
        rtt: null,
        rtype: null,
        rcode: null,
        ttl: null,
        timing: { send: 'process', receive: null, lateness: 0 },
      }),
      result('dst_a', 65_535, {
        rtt: 0.1 + 0.2,
        datamatch: true,
        protocol: 'icmp6',
        target: 'fd00:198:18::1',
      }),
      // As agent/probes/in-flight.ts builds an outcome and send-probe.ts adds the destination.
      Object.assign(
        {
          rtime: '1795000000123456789',
          target: '198.18.0.9',
          protocol: 'udp' as const,
          rid: 33_434,
          rseq: 12,
          address: '198.18.0.1',
          rtt: 1234.567,
          rtype: 3,
          rcode: 3,
          datamatch: false,
          status: 'unreachable' as const,
          ttl: 63,
          timing: { send: 'kernel' as const, receive: 'kernel' as const, lateness: 12 },
        },
        { destination: 'dst_01J0000000000000000000000' },
      ),
    ];
    for (const r of samples) {
      expect(v.is(ResultInputSchema, r)).toBe(true);
      expect(encode(r).toString('utf8')).toBe(JSON.stringify(r));
    }
  });

  it('writes every rtt the engine can make (whole ns / 1000, up to an hour) as String(rtt) does', () => {
    const ks: number[] = [];
    for (let k = 0; k <= 20_000; k++) ks.push(k);
    for (let e = 3; e <= 16; e++) for (let d = -3; d <= 3; d++) ks.push(10 ** e + d);
    for (let i = 0; i < 100_000; i++) ks.push(Math.floor(random() * 10 ** (1 + int(13))));
    for (const k of ks) {
      const r = { rtt: k / 1000 } as unknown as ResultInput;
      const got = encode(r).toString('latin1');
      if (got !== JSON.stringify(r))
        expect.fail(`${replay}: rtt ${k}/1000 written ${got}, not ${JSON.stringify(r)}`);
    }
  });

  it('leaves out undefined, function and symbol values as JSON.stringify does, and writes nested values its way', () => {
    const odd = {
      destination: 'd',
      rtt: undefined,
      rtime: () => 1,
      target: Symbol('t'),
      address: { toJSON: () => undefined },
      nested: { a: [1, 'x"y', null], b: new Date(0) },
      protocol: 'icmp',
    } as unknown as ResultInput;
    expect(encode(odd).toString('utf8')).toBe(JSON.stringify(odd));
    expect(encode(odd).toString('utf8')).toBe(
      '{"destination":"d","nested":{"a":[1,"x\\"y",null],"b":"1970-01-01T00:00:00.000Z"},"protocol":"icmp"}',
    );
    expect(encode({} as ResultInput).toString('utf8')).toBe('{}');
  });

  it('makes room for the longest number, after the shortest key and a comma', () => {
    // The value of `a` is long enough that its own room check is not the tighter one.
    const r = { a: 10, '': -0.0000012345678901234567 } as unknown as ResultInput;
    const want = expected(r);
    for (let room = want.length - 8; room <= want.length + 8; room++) {
      const bytes = Buffer.alloc(room + 64, 0xee);
      const end = writeResultJson(r, bytes, 0, room);
      if (end >= 0) expect(bytes.subarray(0, end).equals(want)).toBe(true);
      expect(bytes.subarray(room).every((b) => b === 0xee)).toBe(true);
    }
  });

  it('writes nothing at or past the limit, and says so when the room is too small', () => {
    for (let i = 0; i < 500; i++) {
      const r = randomResult();
      const want = expected(r);
      // Any room from none to a little more than needed.
      const room = int(want.length + 8);
      const bytes = Buffer.alloc(room + 64, 0xee);
      const end = writeResultJson(r, bytes, 0, room);
      if (end >= 0) {
        expect(bytes.subarray(0, end).equals(want), replay).toBe(true);
        expect(end).toBeLessThanOrEqual(room);
      } else {
        // Room short of the worst case for some field: -1, the caller offers more.
        expect(room, replay).toBeLessThan(want.length + 6 * JSON.stringify(r).length + 32);
      }
      expect(
        bytes.subarray(room).every((b) => b === 0xee),
        replay,
      ).toBe(true);
    }
  });
});

describe('LineBuffer.pushEncoded with writeResultJson', () => {
  it('frames each result as JSON.stringify(result) + newline, growing the buffer for large results', () => {
    const lines = new LineBuffer(16);
    const results = Array.from({ length: 2000 }, randomResult);
    const want: Buffer[] = [];
    let kept = 0;
    for (const [i, r] of results.entries()) {
      lines.pushEncoded(r, writeResultJson);
      want.push(expected(r), Buffer.from('\n'));
      // Drain now and then as the outbox's flush does, so the buffer slides as well as grows.
      if (i % 97 === 96) {
        const taken = lines.take(50);
        expect(taken.equals(Buffer.concat(want.slice(0, 100))), replay).toBe(true);
        lines.drop(50);
        want.splice(0, 100);
        kept += 50;
      }
    }
    expect(lines.length).toBe(results.length - kept);
    expect(lines.take(lines.length).equals(Buffer.concat(want)), replay).toBe(true);
  });
});
