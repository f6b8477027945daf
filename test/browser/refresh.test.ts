/**
 * Auto-refresh in a real browser against a real control plane: the overview and the destination page pick up
 * results posted after they were drawn, without a reload and without duplicated rows, and a hidden tab asks the
 * server nothing until it is shown again, when it refreshes at once. The page's clock is Playwright's (installed
 * before the page loads), so the tests move it past the refresh interval instead of waiting 30 s of real time.
 * Headless Chromium keeps every tab visible, so hiding the tab is played by overriding
 * `document.visibilityState` and firing `visibilitychange`, which is what the page reads.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, ResultInput } from '../../contract/index.js';
import { until } from '../helpers/until.js';
import {
  type Dashboard,
  type Lab,
  launchChromium,
  screenshot,
  seedLab,
  signIn,
  startDashboard,
} from './harness.js';

// What the callbacks given to page.evaluate() use of the page's globals (this project's tsconfig has no DOM).
declare const document: {
  dispatchEvent(e: unknown): boolean;
  querySelectorAll(s: string): ArrayLike<{ textContent: string | null }>;
};
declare const Event: new (type: string) => unknown;
declare const window: { __pingerCharts?: Record<string, { query: string }> };

/** The overview's refresh interval (web/src/pages/overview.tsx) and the destination page's. */
const OVERVIEW_REFRESH_MS = 30_000;
const DESTINATION_REFRESH_MS = 60_000;

let d: Dashboard;
let browser: Browser;
let lab: Lab;

beforeAll(async () => {
  d = await startDashboard();
  browser = await launchChromium();
  lab = await seedLab(
    d,
    [
      { address: '198.18.2.10', loss: 0, baseUs: 8_000 },
      { address: '198.18.2.11', loss: 0.1, baseUs: 20_000 },
    ],
    { sourceNames: ['ams-1'], spanS: 600, everyS: 10 },
  );
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await d?.close();
});

/** Posts `count` results for `dest` from the lab's source through the agent API, the last one now. */
async function post(dest: Destination, count: number, status: 'reply' | 'timeout', firstSeq: number) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const results: ResultInput[] = [];
  for (let i = 0; i < count; i++) {
    const base = {
      destination: dest.id,
      rtime: (now - BigInt(count - 1 - i) * 1_000_000_000n).toString(),
      target: dest.address,
      protocol: 'icmp' as const,
      rid: 7,
      rseq: firstSeq + i,
    };
    results.push(
      status === 'reply'
        ? { ...base, status, address: dest.address, rtt: 9_000, rtype: 0, rcode: 0, datamatch: true, ttl: 60 }
        : { ...base, status, address: null, rtt: null, rtype: null, rcode: null, datamatch: null, ttl: null },
    );
  }
  const res = await fetch(`${d.url}/v1/agent/results`, {
    method: 'POST',
    headers: { authorization: `Bearer ${lab.sources[0]!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ results }),
  });
  expect(res.status).toBe(200);
}

async function addDestination(address: string): Promise<Destination> {
  return d.api.call<Destination>('POST', '/v1/destinations', { address });
}

/** The overview's rows: pair key → the loss it shows. */
async function overviewRows(page: Page): Promise<{ pair: string; loss: string | null }[]> {
  return page.locator('tr.pair').evaluateAll((rows) =>
    rows.map((r) => ({
      pair: r.getAttribute('data-pair') ?? '',
      loss: r.querySelector('[data-loss]')?.getAttribute('data-loss') ?? null,
    })),
  );
}

async function summaryLoss(): Promise<Map<string, string>> {
  const s = await d.api.call<{ rows: { destination: string; source: string; loss: number }[] }>(
    'GET',
    '/v1/stats/summary?window=1h',
  );
  return new Map(s.rows.map((r) => [`${r.destination}/${r.source}`, String(r.loss)]));
}

/** Plays the tab being hidden (or shown again) as the browser does: the state, then the event. */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => (h ? 'hidden' : 'visible'),
    });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

describe('auto-refresh', () => {
  it('the overview picks up new destinations and results without a reload, no row twice; a hidden tab waits', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.clock.install();
    const summaries: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/stats/summary')) summaries.push(r.url());
    });
    await signIn(page, d.url, d.admin);
    const [a] = lab.destinations;
    const src = lab.sources[0]!.id;
    await until('both pairs listed', async () => (await overviewRows(page)).length === 2);

    // New results (a's replies start timing out) and a new destination, then the refresh interval passes.
    await post(a!, 30, 'timeout', 40_000);
    const c = await addDestination('198.18.2.12');
    await post(c, 20, 'reply', 1);
    await page.clock.fastForward(OVERVIEW_REFRESH_MS);
    let want = await summaryLoss();
    let seen: unknown;
    await until(
      () => `the overview refreshed to ${JSON.stringify([...want])}: ${JSON.stringify(seen)}`,
      async () => {
        const rows = await overviewRows(page);
        seen = rows;
        return rows.length === 3 && rows.every((r) => r.loss === want.get(r.pair));
      },
    );
    let rows = await overviewRows(page);
    expect(new Set(rows.map((r) => r.pair)).size).toBe(rows.length);
    expect(rows.map((r) => r.pair).sort()).toEqual(
      [...lab.destinations, c].map((x) => `${x.id}/${src}`).sort(),
    );
    expect(Number(rows.find((r) => r.pair === `${a!.id}/${src}`)!.loss)).toBeGreaterThan(0);

    // Hidden: two intervals pass and the page asks nothing, while another destination is added.
    await setHidden(page, true);
    const asked = summaries.length;
    const e = await addDestination('198.18.2.13');
    await post(e, 20, 'reply', 1);
    await page.clock.fastForward(2 * OVERVIEW_REFRESH_MS + 5_000);
    // Shown again: one refresh at once (the clock is not moved), and the new destination is there.
    await setHidden(page, false);
    want = await summaryLoss();
    let askedWhenShown = -1;
    await until(
      () => `the overview refreshed on being shown: ${JSON.stringify(seen)}`,
      async () => {
        const now = await overviewRows(page);
        seen = now;
        askedWhenShown = summaries.length;
        return now.length === 4 && now.every((r) => r.loss === want.get(r.pair));
      },
    );
    expect(askedWhenShown - asked).toBe(1);
    rows = await overviewRows(page);
    expect(new Set(rows.map((r) => r.pair)).size).toBe(4);
    await screenshot(page, 'overview-refreshed');
    await ctx.close();
  });

  it('the destination page adds new results to its table and redraws its graphs for a range ending later', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await page.clock.install();
    await signIn(page, d.url, d.admin);
    const b = lab.destinations[1]!;
    await page.goto(`${d.url}/#/d/${b.id}`);
    const chartQuery = () => page.evaluate(() => Object.values(window.__pingerCharts ?? {})[0]?.query ?? '');
    await until('the graph drawn', async () => (await chartQuery()) !== '');
    await page.getByRole('button', { name: '1h', exact: true }).click();
    const seqs = () =>
      page.evaluate(() =>
        Array.from(
          document.querySelectorAll('table.results tbody tr td:last-child'),
          (td) => td.textContent ?? '',
        ),
      );
    await until('the latest results listed', async () => (await seqs()).length > 0);
    const before = await chartQuery();

    await post(b, 3, 'reply', 50_001);
    await page.clock.fastForward(DESTINATION_REFRESH_MS);
    let listedSeen = '';
    await until(
      () => `the new results listed first: ${listedSeen}`,
      async () => {
        listedSeen = (await seqs()).join(' ');
        return listedSeen.startsWith('50003 50002 50001 ');
      },
    );
    const listed = await seqs();
    expect(listed.slice(0, 3)).toEqual(['50003', '50002', '50001']);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.length).toBeLessThanOrEqual(25);
    // The graph follows now: asked again for an hour ending later, and drawn.
    await until('the graph redrawn for a later hour', async () => (await chartQuery()) !== before);
    const to = (q: string) => Date.parse(new URL(`${d.url}${q}`).searchParams.get('to')!);
    expect(to(await chartQuery())).toBeGreaterThan(to(before));
    await ctx.close();
  });
});
