import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelTimed, type Timing } from '../../../contract/index.js';
import { TIMED_OUT } from '../../helpers/factories.js';
import { exactQuantile } from '../../helpers/stats-oracle.js';
import { errorOf, type Fixture, makeFixture, resultFor } from './fixture.js';

/** The server's "now": 12:00:30, so 11:59 is the last complete minute. */
const NOW = new Date('2026-12-05T12:00:30Z');
const NS = 1_000_000n;
const at = (iso: string, plusMs = 0) => `${BigInt(Date.parse(iso) + plusMs) * NS}`;
const MINUTE_1159 = '2026-12-05T11:59:00Z';
const MINUTE_1158 = '2026-12-05T11:58:00Z';

/**
 * The timing mark of the i-th result of a post: of each five answers, one process-timed on send, one on receive
 * and one unmarked (an older agent's) — three not kernel-timed on both ends; a timeout never counts, whatever
 * its send was timed by.
 */
function timingOf(i: number, rtt: number | null): Timing | undefined {
  if (rtt === null) return { send: i % 2 ? 'process' : 'kernel', receive: null, lateness: 0 };
  if (i % 5 === 0) return { send: 'process', receive: 'kernel', lateness: 40 };
  if (i % 5 === 1) return { send: 'kernel', receive: 'process', lateness: 0 };
  if (i % 5 === 2) return undefined;
  return { send: 'kernel', receive: 'kernel', lateness: 3 };
}

/** Exact figures over RTTs (µs) in send order, replies only: the oracle the answers are checked against. */
function exact(rtts: (number | null)[]) {
  const replies = rtts.filter((r): r is number => r !== null);
  const mean = replies.reduce((s, r) => s + r, 0) / replies.length;
  const variance = replies.reduce((s, r) => s + (r - mean) ** 2, 0) / replies.length;
  let jitterSum = 0;
  for (let i = 1; i < replies.length; i++) jitterSum += Math.abs(replies[i]! - replies[i - 1]!);
  const sorted = [...replies].sort((a, b) => a - b);
  const rank = (q: number) => exactQuantile(sorted, q);
  return {
    sent: rtts.length,
    received: replies.length,
    processTimed: rtts.filter((rtt, i) => rtt !== null && !kernelTimed({ rtt, timing: timingOf(i, rtt) }))
      .length,
    loss: 1 - replies.length / rtts.length,
    min: sorted[0]!,
    max: sorted.at(-1)!,
    mean,
    stddev: Math.sqrt(variance),
    jitter: jitterSum / (replies.length - 1),
    p10: rank(0.1),
    p25: rank(0.25),
    p50: rank(0.5),
    p75: rank(0.75),
    p90: rank(0.9),
    p99: rank(0.99),
  };
}

/** Checks figures against the oracle: counts exact, moments to float precision, percentiles within 1 %. */
function expectFigures(got: Record<string, unknown>, want: ReturnType<typeof exact>) {
  expect(got).toMatchObject({
    sent: want.sent,
    received: want.received,
    processTimed: want.processTimed,
    min: want.min,
    max: want.max,
  });
  for (const key of ['loss', 'mean', 'stddev', 'jitter'] as const) {
    expect(got[key] as number, key).toBeCloseTo(want[key], 6);
  }
  for (const key of ['p10', 'p25', 'p50', 'p75', 'p90', 'p99'] as const) {
    expect(Math.abs((got[key] as number) - want[key]) / want[key], key).toBeLessThanOrEqual(0.01);
  }
}

describe('GET /v1/stats, /v1/stats/summary, /metrics', () => {
  let f: Fixture;
  let a: Awaited<ReturnType<Fixture['source']>>;
  let b: Awaited<ReturnType<Fixture['source']>>;
  let d1: string;
  let d2: string;
  // a → d1 in 11:59: 100 probes 600 ms apart, every tenth a timeout, RTTs rising 10 µs a probe.
  const d1Rtts = Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? null : 1000 + i * 10));
  // b → d2 in 11:58: 10 replies of 5 ms and 5.5 ms alternately.
  const d2Rtts = Array.from({ length: 10 }, (_, i) => (i % 2 ? 5500 : 5000));
  // a → d1 in 10:30 (another hour): 20 replies of 2 ms.
  const earlyRtts = Array.from({ length: 20 }, () => 2000);

  async function post(token: string, destination: string, minute: string, rtts: (number | null)[], seq = 0) {
    const results = rtts.map((rtt, i) => {
      const timing = timingOf(i, rtt);
      return resultFor(destination, seq + i, {
        rtime: at(minute, i * 600),
        ...(rtt === null ? TIMED_OUT : { rtt }),
        ...(timing && { timing }),
      });
    });
    const res = await f.request('POST', '/v1/agent/results', { token, body: { results } });
    expect(res.status).toBe(200);
  }

  beforeEach(async () => {
    f = await makeFixture({ clock: { now: () => NOW } });
    a = await f.source('a');
    b = await f.source('b');
    d1 = (await f.destination({ address: '198.18.0.1', labels: { env: 'lab', 'team.name': 'net' } })).id;
    d2 = (await f.destination({ address: '198.18.0.2', labels: { env: 'prod' } })).id;
    await post(a.token, d1, MINUTE_1159, d1Rtts.slice(0, 50));
    await post(a.token, d1, MINUTE_1159, d1Rtts, 0); // a retry of the first half, then the rest: counted once
    await post(b.token, d2, MINUTE_1158, d2Rtts);
    await post(a.token, d1, '2026-12-05T10:30:00Z', earlyRtts, 1000);
  });
  afterEach(() => f.close());

  const get = async (path: string, token?: string) => {
    const res = await f.request('GET', path, { token });
    expect(res.status, `${path}: ${res.status === 200 ? '' : await res.clone().text()}`).toBe(200);
    return res;
  };
  type Series = { source: string; destination: string; points: ({ t: string } & Record<string, number>)[] };

  describe('GET /v1/stats', () => {
    it('gives a point per minute with the figures of the results posted (a retried batch counted once)', async () => {
      const from = encodeURIComponent('2026-12-05T11:58:00Z');
      const to = encodeURIComponent('2026-12-05T11:59:59Z');
      const body = (await (await get(`/v1/stats?from=${from}&to=${to}&step=1m`)).json()) as {
        step: number;
        series: Series[];
      };
      expect(body.step).toBe(60);
      const d1Series = body.series.find((s) => s.destination === d1)!;
      expect(d1Series.source).toBe(a.id);
      expect(d1Series.points.map((p) => p.t)).toEqual([at(MINUTE_1159)]);
      expectFigures(d1Series.points[0]!, exact(d1Rtts));
      // 90 answers, 60 of them not kernel-timed on both ends (the oracle's count, written out once).
      expect(d1Series.points[0]!.processTimed).toBe(60);
      const d2Series = body.series.find((s) => s.destination === d2)!;
      expect(d2Series.source).toBe(b.id);
      expect(d2Series.points.map((p) => p.t)).toEqual([at(MINUTE_1158)]);
      expectFigures(d2Series.points[0]!, exact(d2Rtts));
      expect(body.series).toHaveLength(2);
    });

    it('defaults to the last hour before now, and filters by destination, source and labels', async () => {
      const all = (await (await get('/v1/stats')).json()) as { step: number; series: Series[] };
      // 11:00:30–12:00:30 touches 61 minutes: the finest step fits (the 10:30 results are outside).
      expect(all.step).toBe(60);
      expect(all.series.map((s) => s.points.length).sort()).toEqual([1, 1]);

      const mine = (await (await get(`/v1/stats?source=${a.id}`)).json()) as { series: Series[] };
      expect(mine.series.map((s) => s.destination)).toEqual([d1]);
      const one = (await (await get(`/v1/stats?destination=${d2}`)).json()) as { series: Series[] };
      expect(one.series.map((s) => s.source)).toEqual([b.id]);
      const prod = (await (await get('/v1/stats?label=env:prod')).json()) as { series: Series[] };
      expect(prod.series.map((s) => s.destination)).toEqual([d2]);
      const both = (await (await get('/v1/stats?label=env:lab&label=team.name:net')).json()) as {
        series: Series[];
      };
      expect(both.series.map((s) => s.destination)).toEqual([d1]);
      const none = (await (await get('/v1/stats?label=env:lab&label=team.name:ops')).json()) as {
        series: Series[];
      };
      expect(none.series).toEqual([]);
    });

    it('chooses the step when none is given (at most 1,000 points) and merges hours', async () => {
      const from = at('2026-11-05T12:00:00Z');
      const body = (await (await get(`/v1/stats?destination=${d1}&from=${from}`)).json()) as {
        step: number;
        series: Series[];
      };
      // 30 days: 30 min steps would be 1,441 points, an hour 721.
      expect(body.step).toBe(3_600);
      const points = body.series[0]!.points;
      expect(points.map((p) => p.t)).toEqual([at('2026-12-05T10:00:00Z'), at('2026-12-05T11:00:00Z')]);
      expectFigures(points[0]!, exact(earlyRtts.slice(0, 10).concat(earlyRtts.slice(10))));
      expectFigures(points[1]!, exact(d1Rtts));

      const day = (await (await get(`/v1/stats?destination=${d1}&from=${from}&step=1d`)).json()) as {
        series: Series[];
      };
      expect(day.series[0]!.points).toHaveLength(1);
      expect(day.series[0]!.points[0]).toMatchObject({ sent: 120, received: 110, processTimed: 72 });
    });

    it('refuses each bad input with 400 naming the field', async () => {
      const cases: [string, string][] = [
        ['step=abc', 'step'],
        ['step=30s', 'step'],
        ['step=90s', 'step'],
        ['step=400d', 'step'],
        [`step=1m&from=${at('2026-11-05T12:00:00Z')}`, 'step'], // 43,201 points: more than 10,000
        [`from=${at('2026-12-05T12:00:00Z')}&to=${at('2026-12-05T11:00:00Z')}`, 'from'],
        [`from=${at('2026-12-06T00:00:00Z')}`, 'from'], // after the default to (now)
        ['from=yesterday', 'from'],
        ['to=12:00', 'to'],
        ['destination=', 'destination'],
        ['label=nocolon', 'label'],
        ['colour=red', 'colour'],
      ];
      for (const [query, path] of cases) {
        const res = await f.request('GET', `/v1/stats?${query}`);
        expect(res.status, query).toBe(400);
        const error = await errorOf(res);
        expect(error.code, query).toBe('bad_request');
        expect(
          error.issues?.map((i) => i.path),
          query,
        ).toContain(path);
      }
    });

    it('answers 404 naming the field for an unknown destination or source', async () => {
      for (const [query, path] of [
        ['destination=dst_0000000000000000', 'destination'],
        ['source=src_0000000000000000', 'source'],
      ]) {
        for (const route of ['/v1/stats', '/v1/stats/summary']) {
          const res = await f.request('GET', `${route}?${query}`);
          expect(res.status, `${route}?${query}`).toBe(404);
          const error = await errorOf(res);
          expect(error.code).toBe('not_found');
          expect(error.message).toContain(path);
          expect(error.issues).toEqual([{ path, message: 'does not exist' }]);
        }
      }
    });
  });

  describe('GET /v1/stats/summary', () => {
    type Row = { source: string; destination: string; lastResult: string; lastStatus: string } & Record<
      string,
      number
    >;
    it('gives one row per pair over the window, worst first by loss or by p50', async () => {
      const byLoss = (await (await get('/v1/stats/summary?window=5m')).json()) as {
        window: number;
        rows: Row[];
      };
      expect(byLoss.window).toBe(300);
      expect(byLoss.rows.map((r) => r.destination)).toEqual([d1, d2]);
      expectFigures(byLoss.rows[0]!, exact(d1Rtts));
      expect(byLoss.rows[0]).toMatchObject({ lastResult: at(MINUTE_1159, 99 * 600), lastStatus: 'timeout' });
      expectFigures(byLoss.rows[1]!, exact(d2Rtts));
      expect(byLoss.rows[1]).toMatchObject({ lastResult: at(MINUTE_1158, 9 * 600), lastStatus: 'reply' });

      const byP50 = (await (await get('/v1/stats/summary?window=5m&sort=p50')).json()) as { rows: Row[] };
      expect(byP50.rows.map((r) => r.destination)).toEqual([d2, d1]);

      // The default window is an hour: the 10:30 results are still outside; 24h takes them in.
      const hour = (await (await get(`/v1/stats/summary?destination=${d1}`)).json()) as {
        window: number;
        rows: Row[];
      };
      expect(hour.window).toBe(3_600);
      expect(hour.rows[0]).toMatchObject({ sent: 100, received: 90, processTimed: 60 });
      const day = (await (await get(`/v1/stats/summary?window=24h&source=${a.id}`)).json()) as {
        rows: Row[];
      };
      expect(day.rows).toHaveLength(1);
      // Jitter joins replies within a minute only: the two minutes' Δ sums and counts add.
      const early = exact(earlyRtts);
      const late = exact(d1Rtts);
      const joined = (early.jitter * 19 + late.jitter * 89) / (19 + 89);
      expectFigures(day.rows[0]!, { ...exact([...earlyRtts, ...d1Rtts]), jitter: joined });
      const prod = (await (await get('/v1/stats/summary?label=env:prod')).json()) as { rows: Row[] };
      expect(prod.rows.map((r) => r.destination)).toEqual([d2]);
    });

    it('refuses a bad window, sort or field with 400 naming it', async () => {
      for (const [query, path] of [
        ['window=2h', 'window'],
        ['sort=jitter', 'sort'],
        ['label=', 'label'],
        ['step=1m', 'step'],
      ]) {
        const res = await f.request('GET', `/v1/stats/summary?${query}`);
        expect(res.status, query).toBe(400);
        expect(
          (await errorOf(res)).issues?.map((i) => i.path),
          query,
        ).toContain(path);
      }
    });
  });

  describe('GET /metrics', () => {
    /** The sample lines of one metric, as `labels → value`. */
    function samples(text: string, name: string): Map<string, number> {
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
        if (m && m[1] === name) out.set(m[2]!, Number(m[3]));
      }
      return out;
    }
    const find = (map: Map<string, number>, ...parts: string[]) =>
      [...map].filter(([labels]) => parts.every((p) => labels.includes(p))).map(([, v]) => v);

    it('exposes per-pair counters from the running totals and the last complete minute’s quantiles', async () => {
      const res = await get('/metrics');
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      const sent = samples(text, 'pinger_probes_sent_total');
      const received = samples(text, 'pinger_probes_received_total');
      const d1Labels = [
        `destination="${d1}"`,
        `source="${a.id}"`,
        'address="198.18.0.1"',
        'protocol="icmp"',
        'label_env="lab"',
        'label_team_name="net"',
      ];
      expect(find(sent, ...d1Labels)).toEqual([120]);
      expect(find(received, ...d1Labels)).toEqual([110]);
      expect(find(sent, `destination="${d2}"`, `source="${b.id}"`, 'label_env="prod"')).toEqual([10]);
      expect(find(received, `destination="${d2}"`)).toEqual([10]);
      expect(sent.size).toBe(2);
      const processTimed = samples(text, 'pinger_results_process_timed_total');
      expect(find(processTimed, ...d1Labels)).toEqual([72]);
      expect(find(processTimed, `destination="${d2}"`, `source="${b.id}"`)).toEqual([6]);
      expect(processTimed.size).toBe(2);

      // Only 11:59 is the last complete minute: d1 has quantiles, d2 (11:58) none.
      const rtt = samples(text, 'pinger_rtt_seconds');
      const want = exact(d1Rtts);
      for (const [q, key] of [
        ['0.5', 'p50'],
        ['0.9', 'p90'],
        ['0.99', 'p99'],
      ] as const) {
        const [value] = find(rtt, `destination="${d1}"`, `quantile="${q}"`);
        expect(Math.abs(value! * 1e6 - want[key]) / want[key], q).toBeLessThanOrEqual(0.01);
      }
      expect(find(rtt, `destination="${d2}"`)).toEqual([]);
      expect(find(samples(text, 'pinger_loss_ratio'), `destination="${d1}"`)[0]).toBeCloseTo(0.1, 9);
    });

    it('keeps its counters through a restart and through retention passes', async () => {
      const before = samples(await (await get('/metrics')).text(), 'pinger_probes_sent_total');
      // Every rollup and raw row is past retention a decade on: the totals must not move.
      const stats = f.store.stats!;
      for (let pass = 0; pass < 20 && (await stats.prune(new Date('2036-12-05T00:00:00Z'))).more; pass++);
      const other = (await import('../../../control-plane/app.js')).createApp({
        store: f.store,
        clock: { now: () => NOW },
      });
      const res = await other.request('/metrics', { headers: { authorization: `Bearer ${f.admin}` } });
      const after = samples(await res.text(), 'pinger_probes_sent_total');
      expect(after).toEqual(before);
      // …while the minute those quantiles came from is gone.
      expect(samples(await (await get('/metrics')).text(), 'pinger_rtt_seconds').size).toBe(0);
    });

    it('speaks OpenMetrics when asked', async () => {
      const res = await f.request('GET', '/metrics', { headers: { accept: 'application/openmetrics-text' } });
      expect(res.headers.get('content-type')).toContain('application/openmetrics-text');
      expect(await res.text()).toMatch(/# EOF\n?$/);
    });
  });

  it('admits admin and read tokens only', async () => {
    const read = (await (await f.request('POST', '/v1/tokens', { body: { name: 'grafana' } })).json()) as {
      token: string;
    };
    for (const path of ['/v1/stats', '/v1/stats/summary', '/metrics']) {
      expect((await f.request('GET', path, { token: read.token })).status, path).toBe(200);
      expect((await f.request('GET', path, { token: a.token })).status, path).toBe(403);
      expect((await f.request('GET', path, { token: null })).status, path).toBe(401);
    }
  });
});

describe('statistics on a store without them', () => {
  it('answers 501 naming the backend', async () => {
    const f = await makeFixture({ wrapStore: (s) => ({ ...s, kind: 'dynamodb', stats: undefined }) });
    try {
      for (const path of ['/v1/stats', '/v1/stats/summary', '/metrics']) {
        const res = await f.request('GET', path);
        expect(res.status, path).toBe(501);
        const error = await errorOf(res);
        expect(error.code).toBe('not_implemented');
        expect(error.message).toContain('dynamodb');
      }
    } finally {
      await f.close();
    }
  });
});
