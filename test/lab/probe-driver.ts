/**
 * Runs probe plans with the probe engine and prints their outcomes: the lab tests start it inside the agent
 * namespace (`ip netns exec`), since a process cannot switch namespace per thread. All plans run at once on one
 * engine, each on its own schedule, so a single process covers many cases.
 *
 *   ip netns exec NS node --import tsx test/lab/probe-driver.ts '<JSON array of Plan>' ['<JSON engine options>']
 *
 * Prints one JSON line per plan: `{"name": …, "outcomes": [ProbeOutcome…]}` in seq order. Probes go through
 * `Prober.send`, the agent's path; a probe called back twice makes the driver fail.
 */
import { ProbeEngine, type ProbeEngineOptions } from '../../agent/probes/engine.js';
import type { ProbeOutcome, ProbeTarget } from '../../agent/probes/types.js';

/** One stream of probes to one target. */
export interface Plan extends ProbeTarget {
  name: string;
  count: number;
  /** Milliseconds between probes. */
  interval: number;
  /** First seq (later ones count up and wrap at 65,536). */
  seq?: number;
  /** Milliseconds after the start before the first probe. */
  start?: number;
}

const plans = JSON.parse(process.argv[2] ?? '[]') as Plan[];
/** Engine options besides the source id, e.g. `{"txTimestamps": false}`. */
const options = JSON.parse(process.argv[3] ?? '{}') as Partial<ProbeEngineOptions>;
const engine = new ProbeEngine({ ...options, sourceid: 4242 });
const results = plans.map((p) => new Array<ProbeOutcome>(p.count));
const sent = plans.map(() => 0);
/** Probes sent and not yet called back; the outcomes are printed once every plan is sent and this is 0. */
let pending = 0;
let finished = false;
let t0 = 0;

/** Sends every probe that is due, then sleeps until the next one: catches up if the loop was late. */
function tick(): void {
  const now = performance.now() - t0;
  let next = Number.POSITIVE_INFINITY;
  plans.forEach((plan, i) => {
    while (sent[i]! < plan.count && (plan.start ?? 0) + sent[i]! * plan.interval <= now) {
      const n = sent[i]!++;
      const seq = ((plan.seq ?? 0) + n) & 0xffff;
      pending++;
      engine.prober(plan.protocol).send(plan, seq, (o) => {
        // Exactly once: a second call fails the lab test that ran this driver.
        if (results[i]![n] !== undefined) throw new Error(`[lab] ${plan.name} probe ${n} called back twice`);
        results[i]![n] = o;
        if (--pending === 0 && finished) finish();
      });
    }
    if (sent[i]! < plan.count) next = Math.min(next, (plan.start ?? 0) + sent[i]! * plan.interval);
  });
  if (Number.isFinite(next)) setTimeout(tick, Math.max(0, next - (performance.now() - t0)));
  else {
    finished = true;
    if (pending === 0) finish();
  }
}

function finish(): void {
  engine.close();
  for (const [i, plan] of plans.entries()) {
    process.stdout.write(`${JSON.stringify({ name: plan.name, outcomes: results[i] })}\n`);
  }
}

for (const protocol of new Set(plans.map((p) => p.protocol))) {
  await engine.open(
    protocol,
    plans.filter((p) => p.protocol === protocol).map((p) => p.address),
  );
}
t0 = performance.now();
tick();
