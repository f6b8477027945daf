/**
 * Who shares a split census (census/split-members.ts): a source whose slices go unreported, or whose every probe
 * fails, is left out after `failAfter` passes in a row, let back in on probation after a wait that doubles with
 * each failure, and kept when it delivers; the rule is a function of the passes alone. Passes are built as the
 * stores list them (newest first), so each case reads like the census's history.
 */
import { describe, expect, it } from 'vitest';
import type { CensusPassRecord } from '../../../contract/index.js';
import {
  decidedBy,
  failures,
  QUICK_PASSES,
  SPLIT_RULE_DEFAULTS,
  splitMembers,
} from '../../../control-plane/census/split-members.js';
import { mulberry32 } from '../../helpers/prng.js';

const T = 1_763_780_000_000_000_000n;
const MINUTE = 60_000_000_000n;

/** How a source did in one pass: delivered, every probe an error, no report, or a report that ran late. */
type Outcome = 'ok' | 'errors' | 'none' | 'late';

/**
 * The split pass at slot `i` (a minute apart) of a census split among `members`, with each member's outcome.
 * A `late` report ended 1.5 minutes after its slot (so its agent skipped the next one).
 */
function pass(i: number, members: string[], outcome: Record<string, Outcome>): CensusPassRecord {
  const slot = T + BigInt(i) * MINUTE;
  const reported = members.filter((m) => (outcome[m] ?? 'ok') !== 'none');
  const per = Math.floor(100 / members.length);
  const slices = reported.map((source) => {
    const k = members.indexOf(source);
    const errors = outcome[source] === 'errors';
    return {
      source,
      from: k * per,
      to: (k + 1) * per,
      start: slot.toString(),
      end: (slot + (outcome[source] === 'late' ? (MINUTE * 3n) / 2n : MINUTE / 2n)).toString(),
      probed: per,
      answered: errors ? 0 : 1,
      errors: errors ? per : 0,
    };
  });
  return {
    destination: 'd',
    source: reported[0] ?? members[0]!,
    sources: reported,
    prefix: '198.18.0.0/25',
    slot: slot.toString(),
    start: slot.toString(),
    end: slot.toString(),
    durationMs: 0,
    addresses: 100,
    covered: reported.length * per,
    complete: reported.length === members.length,
    probed: 0,
    answered: 0,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 0,
    slices,
    members,
    missing: members.filter((m) => !reported.includes(m)),
  };
}

/** Passes from a script, oldest first as written, newest first as the stores list them. */
const history = (...oldestFirst: [string[], Record<string, Outcome>][]) =>
  oldestFirst.map(([m, o], i) => pass(i, m, o)).reverse();

const AB = ['a', 'b'];
const A = ['a'];

describe('split membership', () => {
  it('keeps every source that delivers, and a new one that was never expected', () => {
    const passes = history([AB, {}], [AB, {}], [AB, {}]);
    expect(splitMembers(['a', 'b', 'c'], passes)).toEqual({ members: ['a', 'b', 'c'], leftOut: new Map() });
  });

  it('leaves out a source whose slices went unreported in the last two settled passes', () => {
    // The newest pass is not settled: b's report of it may still come.
    const one = history([AB, {}], [AB, { b: 'none' }], [AB, { b: 'none' }]);
    expect(failures(one, 'b')).toEqual({ failed: 1, since: 1, decided: true });
    expect(splitMembers(AB, one).members).toEqual(AB);
    const two = history([AB, {}], [AB, { b: 'none' }], [AB, { b: 'none' }], [AB, { b: 'none' }]);
    expect(splitMembers(AB, two)).toEqual({
      members: ['a'],
      leftOut: new Map([['b', { failed: 2, probationIn: 1 }]]),
    });
  });

  it('leaves out a source whose every probe was an error, the newest pass included', () => {
    const passes = history([AB, {}], [AB, { b: 'errors' }], [AB, { b: 'errors' }]);
    expect(splitMembers(AB, passes).leftOut.get('b')).toEqual({ failed: 2, probationIn: 2 });
    // One pass with answers in between breaks the run.
    const mixed = history([AB, { b: 'errors' }], [AB, {}], [AB, { b: 'errors' }]);
    expect(splitMembers(AB, mixed).members).toEqual(AB);
  });

  it('does not count a slot its agent skipped because its previous pass still ran', () => {
    // b's pass 1 ran 1.5 slots, so it skipped slot 2; it is not a failure.
    const passes = history([AB, {}], [AB, { b: 'late' }], [AB, { b: 'none' }], [AB, {}], [AB, {}]);
    expect(failures(passes, 'b').failed).toBe(0);
    const skippedThenSilent = history(
      [AB, { b: 'late' }],
      [AB, { b: 'none' }],
      [AB, { b: 'none' }],
      [AB, { b: 'none' }],
    );
    expect(failures(skippedThenSilent, 'b')).toEqual({ failed: 1, since: 1, decided: true });
  });

  /**
   * Runs a census pass by pass, each pass cut among the members that splitMembers gives for the passes so far,
   * with b's outcome in it (when it is a member) from `b(step)`; returns the members of each pass.
   */
  function run(steps: number, b: (step: number) => Outcome, rule = SPLIT_RULE_DEFAULTS): string[][] {
    const script: [string[], Record<string, Outcome>][] = [];
    for (let step = 0; step < steps; step++) {
      const { members } = splitMembers(AB, history(...script), rule);
      script.push([members, members.includes('b') ? { b: b(step) } : {}]);
    }
    return script.map(([m]) => m);
  }

  /** Lengths of the runs of passes without b that b came back after. */
  const waits = (members: string[][]) =>
    members
      .map((m) => (m.includes('b') ? '|' : '.'))
      .join('')
      .split('|')
      .slice(0, -1)
      .filter((run) => run.length > 0)
      .map((run) => run.length);

  it('lets a failing source back on probation after 2 passes of the others, then 4, then 8 at most', () => {
    // 100 passes, twice the window: the wait stays at the cap once there.
    const long = waits(run(100, () => 'errors'));
    expect(long.slice(0, 3)).toEqual([2, 4, 8]);
    expect(long.length).toBeGreaterThanOrEqual(10);
    expect(new Set(long.slice(2))).toEqual(new Set([8]));
    // A wider window and cap double on.
    const wide = { ...SPLIT_RULE_DEFAULTS, probationMax: 32, history: 200 };
    expect(waits(run(80, () => 'errors', wide))).toEqual([2, 4, 8, 16, 32]);
    // Reports that stop are known a pass late: the pass started before then counts too.
    expect(waits(run(40, () => 'none'))).toEqual([4, 8, 8, 8]);
  });

  it('takes a recovered source back as a full member after one delivered pass on probation', () => {
    // b's reports stop at pass 2 and its agent recovers at pass 6.
    const members = run(20, (step) => (step >= 2 && step < 6 ? 'none' : 'ok'));
    const withB = members.map((m) => m.includes('b'));
    // Left out for 4 passes (its addresses all went to a), back on probation, and a member from then on.
    expect(withB).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      ...Array(11).fill(true),
    ]);
    expect(members[5]).toEqual(['a']);
    // One failure after that starts a new run: it is not left out for it.
    const passes = history(...members.map((m): [string[], Record<string, Outcome>] => [m, {}]));
    expect(splitMembers(AB, [pass(20, AB, { b: 'errors' }), ...passes]).members).toEqual(AB);
  });

  it('leaves nobody out when that would leave no member, and ignores passes without a slot', () => {
    const passes = history([AB, { a: 'errors', b: 'errors' }], [AB, { a: 'errors', b: 'errors' }]);
    expect(failures(passes, 'a').failed).toBe(2);
    expect(splitMembers(AB, passes)).toEqual({ members: AB, leftOut: new Map() });
    const single = { ...pass(9, A, {}), slot: null };
    expect(
      splitMembers(AB, [single, ...history([AB, { b: 'errors' }], [AB, { b: 'errors' }])]).members,
    ).toEqual(A);
  });

  it('decides from the newest few passes exactly what the whole window decides, when they say they do', () => {
    const random = mulberry32(1111);
    const outcomes: Outcome[] = ['ok', 'ok', 'ok', 'errors', 'none', 'late'];
    const pick = () => outcomes[Math.floor(random() * outcomes.length)]!;
    let quick = 0;
    for (let round = 0; round < 300; round++) {
      const script: [string[], Record<string, Outcome>][] = [];
      const abc = ['a', 'b', 'c'];
      for (let step = 0; step < 30; step++) {
        const { members } = splitMembers(abc, history(...script));
        script.push([members, Object.fromEntries(members.map((m) => [m, pick()]))]);
        const passes = history(...script);
        const newest = passes.slice(0, QUICK_PASSES);
        if (!decidedBy(newest, abc)) continue;
        quick++;
        expect(splitMembers(abc, newest), `round ${round} step ${step}`).toEqual(splitMembers(abc, passes));
      }
    }
    // Most configs of a mostly healthy split need only the quick read.
    expect(quick).toBeGreaterThan(300 * 30 * 0.3);
  });

  it('is a function of its inputs: the same passes in give the same members, whatever the candidates’ order', () => {
    const passes = history(
      [AB, {}],
      [['a', 'b', 'c'], { c: 'none' }],
      [['a', 'b', 'c'], { c: 'none' }],
      [AB, {}],
    );
    const first = splitMembers(['a', 'b', 'c'], passes);
    expect(first.leftOut.get('c')).toEqual({ failed: 2, probationIn: 1 });
    expect(splitMembers(['a', 'b', 'c'], structuredClone(passes))).toEqual(first);
    expect(splitMembers(['c', 'b', 'a'], passes).members).toEqual(['b', 'a']);
    // Only the window of `history` passes is read.
    const rule = { ...SPLIT_RULE_DEFAULTS, history: 1 };
    expect(splitMembers(['a', 'b', 'c'], passes, rule).members).toEqual(['a', 'b', 'c']);
  });
});
