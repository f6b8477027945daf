/**
 * What a split census costs the control plane per slice reported: `applyPass` over the 65,534 known hosts of a /16,
 * whole (a single-source pass, no slice test: the baseline) against one half-slice (every known host tested for
 * membership with `censusAddressIndex`), and the same slice tested through valibot's `ipv4()` check (how
 * `censusAddressIndex` read addresses before it read them by hand). The three alternate within each run; medians
 * of wall and process CPU (user + system) over the runs. Pure: no store, no I/O.
 *
 *   node --import tsx bench/census/split-apply.ts [--runs 9]
 */
import * as v from 'valibot';
import { censusAddressIndex, type Prefix, parsePrefix } from '../../contract/index.js';
import { applyPass, type HostState } from '../../control-plane/census/apply-pass.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
const parsed = parsePrefix('198.19.0.0/16');
if ('issue' in parsed) throw new Error(parsed.issue);
const prefix: Prefix = parsed.prefix;

const known = new Map<string, HostState>();
for (let i = 1; i < 65_535; i++) {
  const address = `198.19.${i >> 8}.${i & 255}`;
  known.set(address, {
    address,
    state: 'up',
    firstSeen: 1n,
    lastSeen: 1n,
    lastRtt: 1,
    passesAnswered: 1,
    missed: 0,
    lastPass: 1n,
  });
}

const ipv4 = v.pipe(v.string(), v.ipv4());
const viaValibot = (a: string) => {
  if (!v.is(ipv4, a)) return undefined;
  const [w, x, y, z] = a.split('.').map(Number);
  const i = (((w! << 24) | (x! << 16) | (y! << 8) | z!) >>> 0) - prefix.base - 1;
  return i >= 0 && i < 65_534 ? i : undefined;
};
const half = (index: (a: string) => number | undefined) => (a: string) => {
  const i = index(a);
  return i !== undefined && i < 32_767;
};

const variants: [string, (start: bigint) => void][] = [
  ['whole pass (baseline)', (s) => applyPass(known, s, [], 2)],
  [
    'half slice, censusAddressIndex',
    (s) =>
      applyPass(
        known,
        s,
        [],
        2,
        half((a) => censusAddressIndex(prefix, a)),
      ),
  ],
  ['half slice, valibot ipv4()', (s) => applyPass(known, s, [], 2, half(viaValibot))],
];

const samples = new Map<string, { wall: number[]; cpu: number[] }>(
  variants.map(([n]) => [n, { wall: [], cpu: [] }]),
);
let start = 2n;
for (let run = 0; run < RUNS; run++) {
  for (const [name, fn] of variants) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    fn(start++);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    samples.get(name)!.wall.push(wall);
    samples.get(name)!.cpu.push((cpu.user + cpu.system) / 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.get(variants[0]![0])!.wall);
for (const [name, s] of samples) {
  const wall = median(s.wall);
  console.log(
    JSON.stringify({
      variant: name,
      runs: RUNS,
      wallMs: +wall.toFixed(2),
      cpuMs: +median(s.cpu).toFixed(2),
      vsWhole: +(wall / base).toFixed(2),
    }),
  );
}
