/**
 * Dashboard benchmark: what a first visit downloads (the build, gzipped as served), and in Debian's Chromium
 * (headless, playwright-core) the time to a drawn overview of 1,000 destinations and to a drawn 30-day graph,
 * against a real control plane on 127.0.0.1 fed through its agent API. Beside each browser figure, the API
 * request alone (timed from Node in the same run) as the peer: the ratio is what the page adds to the API.
 *
 *   node --import tsx bench/dashboard/run.ts [--runs 5] [--destinations 1000] [--web DIR]
 *
 * `--web DIR` serves a build made elsewhere (`npx tsx scripts/build-web.ts --out DIR` in an older checkout) for
 * the browser figures: the way to measure a before and after on the same machine, one run after the other.
 *
 * Bounded: a fixed number of runs, each wait capped at 30 s; traffic to 127.0.0.1 only.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ResultInput, SourceWithToken } from '../../contract/index.js';
import { buildWeb } from '../../scripts/build-web/build.js';
import { ARTIFACTS, launchChromium, ROOT, startDashboard } from '../../test/browser/harness.js';
import { median, quantile } from '../ingest/stats.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    destinations: { type: 'string', default: '1000' },
    web: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const DESTINATIONS = Number(args.destinations);
const WAIT_MS = 30_000;

// What the browser pages evaluate (this project's tsconfig has no DOM).
declare const document: {
  querySelectorAll(s: string): { length: number };
  querySelector(s: string): unknown;
  addEventListener(type: string, listener: () => void): void;
};
declare const performance: {
  now(): number;
  getEntriesByName(name: string): unknown[];
  getEntriesByType(type: 'resource'): { name: string; responseEnd: number }[];
};
declare const sessionStorage: { setItem(key: string, value: string): void };
declare const window: {
  __pingerCharts?: Record<string, { query: string }>;
  __clickedAt?: number;
  __marks?: { rows?: number; spark?: number; count?: string };
};

/** Scrolls the overview's list 4 rows a frame (a brisk wheel) for 150 frames or to the end; resolves with the gaps between frames, ms. */
const SCROLL_SCRIPT = `new Promise((resolve) => {
  const box = document.querySelector('.vtable');
  const gaps = [];
  let last = performance.now();
  const step = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight || gaps.length > 150) resolve(gaps.slice(1));
    else {
      box.scrollTop += 4 * 44;
      requestAnimationFrame(step);
    }
  };
  requestAnimationFrame(step);
})`;

/** The gaps between 60 frames of the same page left alone: the peer of the scrolling figure. */
const IDLE_SCRIPT = `new Promise((resolve) => {
  const gaps = [];
  let last = performance.now();
  const step = () => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
    if (gaps.length > 60) resolve(gaps.slice(1));
    else requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})`;

/** Notes when the overview's rows (with their count) and its first sparkline enter the page. */
const MARK_SCRIPT = `window.__marks = {};
new MutationObserver(() => {
  const m = window.__marks;
  const count = document.querySelector('.counts');
  if (m.rows === undefined && count && /^\\d+ of \\d+/.test(count.textContent) && document.querySelector('tr.pair')) {
    m.rows = performance.now();
    m.count = count.textContent.split(' pairs')[0];
  }
  if (m.spark === undefined && document.querySelector('tr.pair svg.spark path')) m.spark = performance.now();
}).observe(document, { subtree: true, childList: true, characterData: true });`;

/**
 * Where the overview's time went, from the page's Performance timeline (ms from navigation start): the app's own
 * marks and measures (web/src/main.tsx, api.ts, pages/overview.tsx) and the Resource Timing of its requests.
 * Server time is the wait for a request's first byte; the rest is the browser's.
 */
const SPLIT_SCRIPT = `(() => {
  const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? NaN;
  const res = performance.getEntriesByType('resource');
  const req = (part) => res.find((e) => e.name.includes(part));
  const measure = (n) => performance.getEntriesByName(n)[0];
  const summary = req('/v1/stats/summary');
  const spark = req('/v1/stats?');
  const script = res.find((e) => e.name.includes('/assets/app-') && e.name.endsWith('.js'));
  const parses = ['GET /v1/stats/summary', 'GET /v1/destinations', 'GET /v1/sources'].map((n) => measure('parse ' + n));
  const dataIn = Math.max(...parses.map((m) => (m ? m.startTime + m.duration : NaN)));
  const rows = mark('overview:rows');
  const sparkParse = measure('parse GET /v1/stats');
  return {
    requests: res.filter((e) => e.name.includes('/v1/')).length,
    scriptEnd: script ? script.responseEnd : NaN,
    appStart: mark('app:start'),
    summaryStart: summary.startTime,
    summaryServer: summary.responseStart - summary.requestStart,
    summaryDownload: summary.responseEnd - summary.responseStart,
    summaryEnd: summary.responseEnd,
    parse: parses.reduce((a, m) => a + (m ? m.duration : 0), 0),
    dataIn,
    rows,
    render: rows - dataIn,
    sparkStart: spark ? spark.startTime : NaN,
    sparkServer: spark ? spark.responseStart - spark.requestStart : NaN,
    sparkDownload: spark ? spark.responseEnd - spark.responseStart : NaN,
    sparkParse: sparkParse ? sparkParse.duration : NaN,
    sparkDraw: mark('overview:sparklines') - (sparkParse ? sparkParse.startTime + sparkParse.duration : NaN),
    sparklines: mark('overview:sparklines'),
  };
})()`;
type Split = Record<string, number>;

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const ms = (n: number) => `${n.toFixed(0)} ms`;

// 1. Size of a first visit.
const built = await buildWeb({ root: ROOT, outDir: join(ROOT, 'bench/out/dashboard-web') });
const raw = built.files.reduce((a, f) => a + f.bytes, 0);
const gz = built.files.reduce((a, f) => a + f.gzipBytes, 0);
console.log(
  `assets: ${built.files.map((f) => `${f.path} ${kb(f.bytes)} (gzip ${kb(f.gzipBytes)})`).join(', ')}`,
);
console.log(`every asset (all pages visited): ${kb(raw)} raw, ${kb(gz)} gzip`);
// What the overview loads: index.html and the files it names (entry script, its preloaded chunk, stylesheet).
const html = readFileSync(join(built.dir, 'index.html'), 'utf8');
const first = built.files.filter((f) => f.path === 'index.html' || html.includes(`/${f.path}`));
console.log(
  `first visit (the overview): ${kb(first.reduce((a, f) => a + f.bytes, 0))} raw, ${kb(first.reduce((a, f) => a + f.gzipBytes, 0))} gzip`,
);

// 2. A control plane with DESTINATIONS destinations probed by one source over the last hour (a result a
// minute each), and one more destination with a result a minute for 30 days.
const d = await startDashboard(args.web ? { webDir: args.web } : {});
if (args.web) console.log(`serving the build in ${args.web}`);
const browser = await launchChromium();
try {
  const source = await d.api.call<SourceWithToken>('POST', '/v1/sources', { name: 'bench' });
  const post = async (results: ResultInput[]) => {
    for (let at = 0; at < results.length; at += 5000) {
      const res = await fetch(`${d.url}/v1/agent/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${source.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: results.slice(at, at + 5000) }),
      });
      if (res.status !== 200) throw new Error(`posting results: ${res.status} ${await res.text()}`);
    }
  };
  const now = BigInt(Date.now()) * 1_000_000n;
  const result = (destination: string, target: string, minutesAgo: number, i: number): ResultInput => {
    const rtime = (now - BigInt(minutesAgo) * 60_000_000_000n).toString();
    const base = { destination, rtime, target, protocol: 'icmp' as const, rid: 1, rseq: i % 65_536 };
    return i % 17 === 0
      ? {
          ...base,
          status: 'timeout',
          address: null,
          rtt: null,
          rtype: null,
          rcode: null,
          datamatch: null,
          ttl: null,
        }
      : {
          ...base,
          status: 'reply',
          address: target,
          rtt: 5_000 + ((i * 7919) % 20_000),
          rtype: 0,
          rcode: 0,
          datamatch: true,
          ttl: 60,
        };
  };
  const started = performance.now();
  let batch: ResultInput[] = [];
  for (let k = 0; k < DESTINATIONS; k++) {
    const address = `198.18.${Math.floor(k / 250)}.${(k % 250) + 1}`;
    const dest = await d.api.call<{ id: string }>('POST', '/v1/destinations', {
      address,
      labels: { rack: `r${k % 20}` },
    });
    for (let m = 0; m < 60; m++) batch.push(result(dest.id, address, 60 - m, m + k));
    if (batch.length >= 20_000) {
      await post(batch);
      batch = [];
    }
  }
  const month = await d.api.call<{ id: string }>('POST', '/v1/destinations', { address: '198.19.0.1' });
  for (let m = 0; m < 30 * 1440; m++) batch.push(result(month.id, '198.19.0.1', 30 * 1440 - m, m));
  await post(batch);
  console.log(`seeded ${DESTINATIONS + 1} destinations in ${ms(performance.now() - started)}`);

  const api = async (path: string) => {
    const t0 = performance.now();
    const res = await fetch(`${d.url}${path}`, { headers: { authorization: `Bearer ${d.admin}` } });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
    return performance.now() - t0;
  };

  const overview: number[] = [];
  const frames: number[] = [];
  const idleFrames: number[] = [];
  const overviewOwn: number[] = [];
  const sparks: number[] = [];
  const splits: Split[] = [];
  const graph: number[] = [];
  const summaryApi: number[] = [];
  const statsApi: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript((token) => sessionStorage.setItem('pinger.token', token), d.admin);
    const page = await ctx.newPage();

    // Overview: from navigation start to the rows in the page (all counted), then to the sparklines in them. A
    // MutationObserver notes each moment as the page commits it, whatever the test driver's polling does.
    await page.addInitScript(MARK_SCRIPT);
    await page.goto(`${d.url}/#/`);
    await page.waitForFunction(() => window.__marks?.spark !== undefined, undefined, { timeout: WAIT_MS });
    const marks = (await page.evaluate(() => window.__marks))!;
    if (marks.count !== `${DESTINATIONS + 1} of ${DESTINATIONS + 1}`)
      throw new Error(`counted ${marks.count}`);
    overview.push(marks.rows!);
    sparks.push(marks.spark!);
    // The page's own share: from the summary's last byte (Resource Timing) to the rows in the page.
    const summaryEnd = await page.evaluate(
      () =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.includes('/v1/stats/summary'))
          .map((e) => e.responseEnd)[0] ?? Number.NaN,
    );
    overviewOwn.push(marks.rows! - summaryEnd);
    await page.waitForFunction(
      () => performance.getEntriesByName('overview:sparklines').length > 0,
      undefined,
      {
        timeout: WAIT_MS,
      },
    );
    splits.push((await page.evaluate(SPLIT_SCRIPT)) as Split);
    // Scrolling the list: the gaps between frames while it scrolls, and while it is left alone.
    // (A string, not a function: tsx would wrap the inner arrows in a helper the page does not have.)
    idleFrames.push(...((await page.evaluate(IDLE_SCRIPT)) as number[]));
    frames.push(...((await page.evaluate(SCROLL_SCRIPT)) as number[]));
    if (run === 0) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'bench-overview-1000.png') });
    }

    // The 30-day graph: from the click on 30d to the chart drawn for that request.
    await page.goto(`${d.url}/#/d/${month.id}`);
    await page.waitForFunction(() => Object.keys(window.__pingerCharts ?? {}).length > 0, undefined, {
      timeout: WAIT_MS,
    });
    const before = await page.evaluate(() => Object.values(window.__pingerCharts ?? {})[0]?.query);
    // Timed from the click as the page sees it (Playwright's own checks before clicking are not the page's).
    await page.evaluate(() =>
      document.addEventListener('click', () => {
        window.__clickedAt = performance.now();
      }),
    );
    await page.getByRole('button', { name: '30d', exact: true }).click();
    await page.waitForFunction(
      (q) => {
        const c = Object.values(window.__pingerCharts ?? {})[0];
        return c !== undefined && c.query !== q && document.querySelector('.smoke-chart canvas') !== null;
      },
      before,
      { timeout: WAIT_MS, polling: 'raf' },
    );
    graph.push(await page.evaluate(() => performance.now() - (window.__clickedAt ?? Number.NaN)));
    const query = await page.evaluate(() => Object.values(window.__pingerCharts ?? {})[0]!.query);
    if (run === 0) await page.screenshot({ path: join(ARTIFACTS, 'bench-graph-30d.png') });
    await ctx.close();

    summaryApi.push(await api('/v1/stats/summary?window=1h'));
    statsApi.push(await api(query));
  }

  const line = (what: string, xs: number[], peer: number[]) =>
    console.log(
      `${what}: median ${ms(median(xs))} (runs ${xs.map((x) => x.toFixed(0)).join(', ')}); API alone ${ms(median(peer))}, ${(median(xs) / median(peer)).toFixed(1)}×`,
    );
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, ${RUNS} runs`);
  line(`overview of ${DESTINATIONS + 1} rows drawn (from navigation start)`, overview, summaryApi);
  line('  … with the sparklines', sparks, summaryApi);
  console.log(
    `  … the page's own share (summary's last byte → rows drawn): median ${ms(median(overviewOwn))} (runs ${overviewOwn.map((x) => x.toFixed(0)).join(', ')})`,
  );
  // The split of the overview's time, medians over the runs (ms; "at" = from navigation start).
  const med = (k: string) => median(splits.map((x) => x[k]!)).toFixed(0);
  console.log(`  split (medians, ms): ${splits[0]?.requests} API requests`);
  console.log(
    `    at: script loaded ${med('scriptEnd')}, app started ${med('appStart')}, summary asked ${med('summaryStart')}, summary in ${med('summaryEnd')}, data parsed ${med('dataIn')}, rows ${med('rows')}`,
  );
  console.log(
    `    server: summary wait (request → first byte) ${med('summaryServer')}; browser: boot to app start ${med('appStart')}, app start → summary asked ${(median(splits.map((x) => x.summaryStart! - x.appStart!))).toFixed(0)}, summary download ${med('summaryDownload')}, parse (summary + destinations + sources) ${med('parse')}, render rows ${med('render')}`,
  );
  console.log(
    `    sparklines: asked at ${med('sparkStart')}, server wait ${med('sparkServer')}, download ${med('sparkDownload')}, parse ${med('sparkParse')}, draw ${med('sparkDraw')}, in the page at ${med('sparklines')}`,
  );
  line('30-day graph drawn (from the click)', graph, statsApi);
  const frameLine = (what: string, xs: number[]) =>
    `${what}: median ${ms(median(xs))}, p95 ${ms(quantile(xs, 0.95))}, max ${ms(Math.max(...xs))} (${xs.length} frames)`;
  console.log(frameLine('frame gaps scrolling the overview, 4 rows a frame', frames));
  console.log(frameLine('frame gaps of the same page left alone', idleFrames));
} finally {
  await browser.close();
  await d.close();
}
