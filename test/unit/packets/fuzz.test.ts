import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz-harness.js';

const INPUTS = 1_000_000;

describe('packet decoders under fuzzing', () => {
  it(`throw only PacketError, and read only inside their window, for ${INPUTS.toLocaleString('en')} inputs`, () => {
    // A fresh seed per run widens coverage over time; PACKETS_FUZZ_SEED replays a failure (its message names it).
    const seed = Number(process.env.PACKETS_FUZZ_SEED ?? (Date.now() ^ (process.pid << 8)) >>> 0);
    let report: ReturnType<typeof runFuzz>;
    const cpu = process.cpuUsage();
    try {
      report = runFuzz(INPUTS, seed);
    } catch (err) {
      console.error(`packets fuzz failed with seed ${seed}: rerun with PACKETS_FUZZ_SEED=${seed}`);
      throw err;
    }
    const calls = Object.values(report.stats).reduce((n, s) => n + s.calls, 0);
    const used = process.cpuUsage(cpu);
    console.log(
      `packets fuzz: seed ${seed}, ${INPUTS} inputs, ${calls} decoder calls in ${report.seconds.toFixed(1)} s ` +
        `(${((used.user + used.system) / 1e6).toFixed(1)} s CPU)`,
    );

    // The fuzz must reach deep, not bounce off the first length check: every decoder both succeeds and fails
    // many times, and ICMP errors quoting each transport are decoded for both families.
    for (const [name, s] of Object.entries(report.stats)) {
      const failed = Object.values(s.errors).reduce((a, b) => a + b, 0);
      expect(s.ok, `${name} successes (seed ${seed})`).toBeGreaterThan(5_000);
      if (name !== 'isProbePayload')
        expect(failed, `${name} PacketErrors (seed ${seed})`).toBeGreaterThan(5_000);
    }
    for (const family of ['v4', 'v6']) {
      for (const kind of [
        'echo-reply',
        'time-exceeded icmp',
        'time-exceeded udp',
        'time-exceeded tcp',
        'unreachable udp',
      ]) {
        expect(report.kinds[`${family} ${kind}`] ?? 0, `${family} ${kind} (seed ${seed})`).toBeGreaterThan(
          1_000,
        );
      }
    }
    // About 10 s of CPU; the bound leaves room for a machine busy with other suites, not for a hang.
  }, 180_000);
});
