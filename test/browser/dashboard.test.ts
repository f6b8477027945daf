/**
 * The dashboard in a real browser against a real control plane: sign-in, the keyboard, the overview's filters, the
 * destination form and its field errors, what a read-only token sees and may do, token rotation; the overview's
 * loss and the graph's points checked against the stats API, and zoom. Screenshots of every page are written to
 * test/browser/artifacts/.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, ErrorBody } from '../../contract/index.js';
import { until } from '../helpers/until.js';
import { type Dashboard, type Lab, launchChromium, screenshot, seedLab, signIn } from './harness.js';

// What the callbacks given to page.evaluate() use of the page's globals (this project's tsconfig has no DOM).
declare const sessionStorage: { getItem(key: string): string | null };
declare const window: { __pingerCharts?: unknown };
declare const document: {
  activeElement: { getAttribute(name: string): string | null } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
};

let d: Dashboard;
let browser: Browser;
let lab: Lab;

beforeAll(async () => {
  const { startDashboard } = await import('./harness.js');
  d = await startDashboard();
  browser = await launchChromium();
  lab = await seedLab(d, [
    { address: '198.18.0.10', labels: { site: 'ams', tier: 'core' }, loss: 0, baseUs: 8_000 },
    { address: '198.18.0.11', labels: { site: 'fra' }, loss: 0.1, baseUs: 25_000 },
    { address: '198.18.0.12', labels: { site: 'fra' }, loss: 0.5, baseUs: 60_000 },
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await d?.close();
});

async function freshPage(
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await ctx.newPage();
  return { ctx, page };
}

describe('sign-in', () => {
  it('refuses a wrong token in place; a right one is kept in sessionStorage, sent as Bearer, never in a URL', async () => {
    const { ctx, page } = await freshPage();
    const urls: string[] = [];
    const auth: string[] = [];
    page.on('request', (r) => {
      urls.push(r.url());
      if (r.url().includes('/v1/')) auth.push(r.headers().authorization ?? '');
    });
    await page.goto(`${d.url}/`);
    await screenshot(page, 'sign-in');
    expect(await page.getByLabel('API token').getAttribute('type')).toBe('password');

    await page.getByLabel('API token').fill('pgr_read_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refused = page.locator('#token-error');
    await refused.waitFor();
    expect(await refused.getAttribute('role')).toBe('alert');
    expect(await refused.textContent()).toContain('does not take this token');
    expect(await page.evaluate(() => sessionStorage.getItem('pinger.token'))).toBeNull();

    await signIn(page, d.url, d.admin);
    expect(await page.evaluate(() => sessionStorage.getItem('pinger.token'))).toBe(d.admin);
    expect(await page.locator('.who').textContent()).toBe('admin');
    expect(auth.at(-1)).toBe(`Bearer ${d.admin}`);
    expect(urls.filter((u) => u.includes(d.admin) || u.includes('not-a-token'))).toEqual([]);
    expect(page.url()).not.toContain(d.admin);

    // Signing out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('pinger.token'))).toBeNull();
    await ctx.close();
  });
});

describe('keyboard', () => {
  it('signs in, reaches a destination of the overview and opens it, with the keyboard alone', async () => {
    const { ctx, page } = await freshPage();
    await page.goto(`${d.url}/`);
    // The token field takes the focus once the page has rendered it.
    await page.waitForFunction(() => document.activeElement?.getAttribute('id') === 'token', undefined, {
      timeout: 10_000,
    });
    await page.keyboard.type(d.admin);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.locator('tr.pair a').first().waitFor();
    const target = await page.locator('tr.pair a').first().getAttribute('href');
    let focused = '';
    for (let presses = 0; presses < 40 && focused !== target; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('href') ?? '');
    }
    expect(focused).toBe(target);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /198\.18\.0\./ }).waitFor();
    expect(new URL(page.url()).hash).toBe(target);
    await ctx.close();
  });
});

describe('overview filters', () => {
  it('narrow the pairs by text, label, protocol and source', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    const pairs = page.locator('tr.pair');
    await until(
      'every pair listed',
      async () => (await pairs.count()) === lab.destinations.length * lab.sources.length,
    );
    const shown = () => pairs.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-pair')).sort());
    const [d10, d11, d12] = lab.destinations.map((x) => x.id);
    const [ams, fra] = lab.sources.map((x) => x.id);
    await page.getByLabel('Search', { exact: true }).fill('198.18.0.12');
    await until('search applied', async () => (await pairs.count()) === 2);
    expect(await shown()).toEqual([`${d12}/${ams}`, `${d12}/${fra}`].sort());
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByLabel('Label', { exact: true }).selectOption('site=fra');
    await page.getByLabel('Source', { exact: true }).selectOption(ams!);
    await until('label and source applied', async () => (await pairs.count()) === 2);
    expect(await shown()).toEqual([`${d11}/${ams}`, `${d12}/${ams}`].sort());
    await page.getByLabel('Protocol', { exact: true }).selectOption('tcp');
    await until('protocol applied', async () => (await pairs.count()) === 0);
    expect(d10).toBeDefined();
    await ctx.close();
  });
});

describe('managing destinations', () => {
  it('shows the API field error beside ttl for ttl 300, stores nothing, then adds the corrected destination', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    await page.goto(`${d.url}/#/manage`);
    await page.getByRole('button', { name: 'Add destination' }).click();
    const form = page.getByRole('form', { name: 'Add destination' });
    await form.getByLabel('Address').fill('198.18.0.99');
    await form.getByLabel('TTL / hop limit').fill('300');
    await form.getByLabel('Labels').fill('site=lab');
    const before = (await d.api.call<{ destinations: Destination[] }>('GET', '/v1/destinations'))
      .destinations;
    await form.getByRole('button', { name: 'Add' }).click();
    const error = form.locator('[data-field="ttl"] .field-error');
    await error.waitFor();

    // The very message the API gives for the same body, beside the field it names, and only there.
    const res = await fetch(`${d.url}/v1/destinations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ address: '198.18.0.99', ttl: 300 }),
    });
    expect(res.status).toBe(400);
    const issues = ((await res.json()) as ErrorBody).error.issues ?? [];
    expect(issues.map((i) => i.path)).toEqual(['ttl']);
    expect(await error.textContent()).toBe(issues[0]!.message);
    expect(await form.locator('.field-error').count()).toBe(1);
    expect(await form.getByLabel('TTL / hop limit').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'manage-field-error');
    const after = (await d.api.call<{ destinations: Destination[] }>('GET', '/v1/destinations')).destinations;
    expect(after.map((x) => x.id)).toEqual(before.map((x) => x.id));

    await form.getByLabel('TTL / hop limit').fill('64');
    await form.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('link', { name: '198.18.0.99' }).waitFor();
    const stored = (
      await d.api.call<{ destinations: Destination[] }>('GET', '/v1/destinations')
    ).destinations.find((x) => x.address === '198.18.0.99');
    expect(stored).toMatchObject({ ttl: 64, labels: { site: 'lab' }, active: true });

    // Edit it: the form comes filled in, and saving patches only what the API is sent.
    const row = page.locator(`tr[data-destination="${stored!.id}"]`);
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit destination' });
    expect(await edit.getByLabel('Address').inputValue()).toBe('198.18.0.99');
    expect(await edit.getByLabel('Labels').inputValue()).toBe('site=lab');
    await edit.getByLabel('Interval (ms)').fill('250');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await d.api.call<Destination>('GET', `/v1/destinations/${stored!.id}`)).toMatchObject({
      interval: 250,
      ttl: 64,
      labels: { site: 'lab' },
    });

    // Pause it, then delete it, through the buttons.
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByRole('button', { name: 'Resume' }).waitFor();
    expect((await d.api.call<Destination>('GET', `/v1/destinations/${stored!.id}`)).active).toBe(false);
    await screenshot(page, 'manage');
    page.once('dialog', (dialog) => dialog.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await expect(d.api.call('GET', `/v1/destinations/${stored!.id}`)).rejects.toThrow(/404/);
    await ctx.close();
  });

  it('leaves empty numbers to the server (a prefix gets its census defaults) and puts census errors beside the rate', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    await page.goto(`${d.url}/#/manage`);
    await page.getByRole('button', { name: 'Add destination' }).click();
    const form = page.getByRole('form', { name: 'Add destination' });
    // A census rate on a single host: the API refuses it, beside the rate field, and stores nothing.
    await form.getByLabel('Address').fill('198.18.0.98');
    await form.getByLabel('Census rate (probes/s)').fill('100');
    await form.getByRole('button', { name: 'Add' }).click();
    await form.locator('[data-field="rate"] .field-error').waitFor();
    expect(await form.locator('.field-error').count()).toBe(1);
    const all = async () =>
      (await d.api.call<{ destinations: Destination[] }>('GET', '/v1/destinations')).destinations;
    expect((await all()).some((x) => x.address === '198.18.0.98')).toBe(false);

    // A prefix with the numbers left empty: the server's defaults for a census, not the 1 s of a host.
    await form.getByLabel('Address').fill('198.18.64.0/24');
    await form.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('link', { name: '198.18.64.0/24' }).waitFor();
    const census = (await all()).find((x) => x.address === '198.18.64.0/24')!;
    expect(census.interval).toBe(1_800_000);
    // (The rate typed earlier went with it; the stores do not keep census settings yet, so it is not read back.)
    await d.api.call('DELETE', `/v1/destinations/${census.id}`);
    await ctx.close();
  });

  it('rotates an agent token: the new one is shown once and the old one stops working', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    await page.goto(`${d.url}/#/sources`);
    const source = lab.sources[1]!;
    const row = page.locator(`tr[data-source="${source.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('ago');
    page.once('dialog', (dialog) => dialog.accept());
    await row.getByRole('button', { name: 'Rotate' }).click();
    const shown = page.getByLabel('new agent token');
    await shown.waitFor();
    const token = await shown.inputValue();
    expect(token).toMatch(/^pgr_agent_/);
    await screenshot(page, 'sources-rotated');
    const post = (t: string) =>
      fetch(`${d.url}/v1/agent/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: [] }),
      });
    expect((await post(source.token)).status).toBe(401);
    expect((await post(token)).status).toBe(200);
    source.token = token;
    await ctx.close();
  });
});

describe('a read-only token', () => {
  it('sees every page but no edit control, and the server refuses a write forced from the page', async () => {
    const read = await d.api.call<{ token: string }>('POST', '/v1/tokens', { name: 'browser test' });
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, read.token);
    expect(await page.locator('.who').textContent()).toBe('read-only');
    await page.goto(`${d.url}/#/manage`);
    await page.getByRole('link', { name: '198.18.0.10' }).waitFor();
    await screenshot(page, 'manage-read-only');
    for (const name of ['Add destination', 'Edit', 'Pause', 'Resume', 'Delete']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    await page.goto(`${d.url}/#/sources`);
    await page.locator('tr[data-source]').first().waitFor();
    expect(await page.getByRole('button', { name: 'Rotate' }).count()).toBe(0);

    // What a user could still do by hand from the console with the same token.
    const target = lab.destinations[0]!;
    const forced = await page.evaluate(async (id) => {
      const token = sessionStorage.getItem('pinger.token');
      const res = await fetch(`/v1/destinations/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ active: false }),
      });
      return { status: res.status, body: (await res.json()) as ErrorBody };
    }, target.id);
    expect(forced.status).toBe(403);
    expect(forced.body.error.code).toBe('forbidden');
    expect((await d.api.call<Destination>('GET', `/v1/destinations/${target.id}`)).active).toBe(true);
    await ctx.close();
  });
});

describe('with the stats API', () => {
  it('the overview lists every pair worst first with the loss the summary API reports', async () => {
    const { ctx, page } = await freshPage();
    const sparkRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/stats?')) sparkRequests.push(r.url());
    });
    await signIn(page, d.url, d.admin);
    const expected = await d.api.call<{ rows: { destination: string; source: string; loss: number }[] }>(
      'GET',
      '/v1/stats/summary?window=1h',
    );
    const pairs = page.locator('tr.pair');
    await until(
      'every pair listed',
      async () => (await pairs.count()) >= lab.destinations.length * lab.sources.length,
    );
    const shown = await pairs.evaluateAll((rows) =>
      rows.map((r) => ({
        pair: r.getAttribute('data-pair'),
        loss: r.querySelector('[data-loss]')?.getAttribute('data-loss'),
      })),
    );
    for (const row of expected.rows) {
      expect(shown).toContainEqual({ pair: `${row.destination}/${row.source}`, loss: String(row.loss) });
    }
    // Worst first: the 50 % destination's rows lead.
    const worst = lab.destinations[2]!.id;
    expect(shown.slice(0, lab.sources.length).every((s) => s.pair?.startsWith(`${worst}/`))).toBe(true);

    // The sparklines: one request per destination in view, each line the medians the stats API gives for it.
    const lines = () =>
      pairs.evaluateAll((rows) =>
        rows.map((r): [string | null, string | null | undefined] => [
          r.getAttribute('data-pair'),
          r.querySelector('svg.spark')?.getAttribute('data-points'),
        ]),
      );
    await until('every sparkline drawn', async () => (await lines()).every(([, p]) => p));
    const asked = sparkRequests.map((u) => new URL(u));
    expect(asked.map((u) => u.searchParams.get('destination')).sort()).toEqual(
      lab.destinations.map((x) => x.id).sort(),
    );
    const drawnLines = new Map(await lines());
    for (const u of asked) {
      const answer = await d.api.call<{
        series: { source: string; destination: string; points: { p50: number | null }[] }[];
      }>('GET', `/v1/stats${u.search}`);
      expect(answer.series.length).toBe(lab.sources.length);
      for (const s of answer.series) {
        expect(drawnLines.get(`${s.destination}/${s.source}`)).toBe(
          s.points.map((p) => (p.p50 === null ? '-' : String(p.p50))).join(' '),
        );
      }
    }
    await screenshot(page, 'overview');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'overview-phone');
    await ctx.close();
  });

  it('the graph draws the points the stats API gives, and a drag zooms into a narrower range', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    const dest = lab.destinations[1]!;
    await page.goto(`${d.url}/#/d/${dest.id}`);
    type Drawn = Record<string, { smoke: (number | null)[][]; loss: (number | null)[][]; query: string }>;
    let drawn: Drawn = {};
    await until('a chart per source', async () => {
      drawn = ((await page.evaluate(() => window.__pingerCharts)) ?? {}) as Drawn;
      return lab.sources.every((s) => drawn[s.id] !== undefined);
    });
    // The request the charts answer, asked again of the API by the test.
    const asked = new URL(`${d.url}${drawn[lab.sources[0]!.id]!.query}`);
    expect(asked.searchParams.get('destination')).toBe(dest.id);
    const api = await d.api.call<{
      step: number;
      series: {
        source: string;
        points: ({ t: string; loss: number } & Record<
          'p10' | 'p25' | 'p50' | 'p75' | 'p90',
          number | null
        >)[];
      }[];
    }>('GET', `/v1/stats${asked.search}`);
    expect(api.series.map((s) => s.source).sort()).toEqual(lab.sources.map((s) => s.id).sort());
    for (const s of api.series) {
      const chart = drawn[s.source]!;
      expect(chart.query).toBe(drawn[lab.sources[0]!.id]!.query);
      const xs = chart.smoke[0]!;
      // The chart puts a null after a gap so the line breaks there; those are the only extra slots.
      const kept = xs.map((_, i) => i).filter((i) => chart.loss[1]![i] !== null);
      expect(kept.map((i) => xs[i])).toEqual(s.points.map((p) => Number(BigInt(p.t) / 1_000_000n) / 1000));
      const ms = (us: number | null) => (us === null ? null : us / 1000);
      expect(kept.map((i) => chart.smoke[5]![i])).toEqual(s.points.map((p) => ms(p.p50)));
      // The smoke: p10–p90 and p25–p75 around it.
      for (const [column, key] of [
        [1, 'p10'],
        [2, 'p25'],
        [3, 'p75'],
        [4, 'p90'],
      ] as const) {
        expect(kept.map((i) => chart.smoke[column]![i])).toEqual(s.points.map((p) => ms(p[key])));
      }
      expect(kept.map((i) => chart.loss[1]![i])).toEqual(s.points.map((p) => p.loss * 100));
      expect(s.points.length).toBeGreaterThan(10);
    }
    await screenshot(page, 'destination');

    // The last hour (where the lab's results are), then a drag across the middle third of the first chart: the
    // next request asks for about that third, and the charts draw its answer.
    const src = lab.sources[0]!.id;
    const chartQuery = async () =>
      (((await page.evaluate(() => window.__pingerCharts)) ?? {}) as Drawn)[src]?.query ?? '';
    await page.getByRole('button', { name: '1h', exact: true }).click();
    await until('the charts drawn for the last hour', async () => (await chartQuery()) !== drawn[src]!.query);
    const hour = new URL(`${d.url}${await chartQuery()}`);
    await screenshot(page, 'destination-hour', false);
    const over = page.locator('.smoke-chart .u-over').first();
    const box = (await over.boundingBox())!;
    const next = page.waitForRequest((r) => r.url().includes('/v1/stats?') && r.url() !== hour.toString());
    await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + (box.width * 2) / 3, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    const zoomed = new URL((await next).url());
    const span = (u: URL) => Date.parse(u.searchParams.get('to')!) - Date.parse(u.searchParams.get('from')!);
    expect(Date.parse(zoomed.searchParams.get('from')!)).toBeGreaterThan(
      Date.parse(hour.searchParams.get('from')!),
    );
    expect(Date.parse(zoomed.searchParams.get('to')!)).toBeLessThan(Date.parse(hour.searchParams.get('to')!));
    expect(span(zoomed) / span(hour)).toBeGreaterThan(0.25);
    expect(span(zoomed) / span(hour)).toBeLessThan(0.45);
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor();
    // And the charts now draw that answer.
    await until(
      () => `the charts redrawn for ${zoomed.pathname}${zoomed.search}`,
      async () => (await chartQuery()) === `${zoomed.pathname}${zoomed.search}`,
    );
    await screenshot(page, 'destination-zoomed');
    await ctx.close();
  });

  it('the keyboard zooms and pans the graph through the same stats requests as a drag, announcing the range', async () => {
    const { ctx, page } = await freshPage();
    await signIn(page, d.url, d.admin);
    const dest = lab.destinations[0]!;
    const src = lab.sources[0]!.id;
    await page.goto(`${d.url}/#/d/${dest.id}`);
    type Drawn = Record<string, { query: string }>;
    const chartQuery = async () =>
      (((await page.evaluate(() => window.__pingerCharts)) ?? {}) as Drawn)[src]?.query ?? '';
    await until('the first charts drawn', async () => (await chartQuery()) !== '');
    const first = await chartQuery();
    await page.getByRole('button', { name: '1h', exact: true }).click();
    await until('the charts drawn for the last hour', async () => (await chartQuery()) !== first);
    let shown = new URL(`${d.url}${await chartQuery()}`);
    const from = (u: URL) => Date.parse(u.searchParams.get('from')!);
    const to = (u: URL) => Date.parse(u.searchParams.get('to')!);
    const span = (u: URL) => to(u) - from(u);
    expect(span(shown)).toBe(3_600_000);

    // Tab to the graphs, as a keyboard user does.
    let focused = '';
    for (let presses = 0; presses < 40 && focused !== 'charts'; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('class') ?? '');
    }
    expect(focused).toBe('charts');
    const graphs = page.getByRole('application', { name: 'Latency and loss graphs' });
    expect(await graphs.getAttribute('aria-describedby')).toBe('range-shown chart-keys');
    const live = page.locator('#range-shown');
    expect(await live.getAttribute('aria-live')).toBe('polite');

    /** Presses `key` and returns the stats request it caused, once the charts are drawn for its answer. */
    const press = async (key: string): Promise<URL> => {
      const before = shown.toString();
      const next = page.waitForRequest((r) => r.url().includes('/v1/stats?') && r.url() !== before);
      await page.keyboard.press(key);
      const asked = new URL((await next).url());
      await until(
        () => `the charts redrawn for ${asked.search} after ${key}`,
        async () => (await chartQuery()) === `${asked.pathname}${asked.search}`,
      );
      expect(asked.searchParams.get('destination')).toBe(dest.id);
      shown = asked;
      return asked;
    };

    // + halves the span about its middle: a fixed range inside the hour, announced as zoomed.
    const hour = shown;
    const half = await press('+');
    expect(span(half)).toBe(1_800_000);
    expect(from(half) + to(half)).toBe(from(hour) + to(hour));
    await until(
      'the zoom announced',
      async () => (await live.textContent())?.includes('zoomed in 1h') === true,
    );
    expect(await page.getByRole('button', { name: 'Reset zoom' }).count()).toBe(1);
    // ← moves a quarter of the span earlier; the step still fits the width, as for a drag.
    const left = await press('ArrowLeft');
    expect(span(left)).toBe(1_800_000);
    expect(from(left)).toBe(from(half) - 450_000);
    expect(left.searchParams.get('step')).toBe(half.searchParams.get('step'));
    // → moves back; − doubles the span, never past now.
    const right = await press('ArrowRight');
    expect(from(right)).toBe(from(half));
    const out = await press('-');
    expect(span(out)).toBe(3_600_000);
    expect(to(out)).toBeLessThanOrEqual(Date.now());
    // Esc returns to the range button the zoom started from, following now again.
    const back = await press('Escape');
    expect(span(back)).toBe(3_600_000);
    expect(to(back)).toBeGreaterThan(to(hour));
    await page.getByRole('button', { name: 'Reset zoom' }).waitFor({ state: 'detached' });
    expect(await page.getByRole('button', { name: '1h', exact: true }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    expect(await live.textContent()).not.toContain('zoomed');
    // The focus stays on the graphs through it all.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('class'))).toBe('charts');
    await screenshot(page, 'destination-keyboard-focus', false);
    await ctx.close();
  });
});

describe('every page, light and dark, desktop and phone', () => {
  it('renders every page in both themes at 1280 px and 390 px without errors or a page wider than the screen', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      for (const [size, options] of [
        ['1280', { viewport: { width: 1280, height: 900 } }],
        ['390', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }],
      ] as const) {
        const { ctx, page } = await freshPage({ ...options, colorScheme: scheme });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        const name = (what: string) => `${what}-${scheme}-${size}`;
        /** The page's width beyond the screen's, px (0: nothing to scroll sideways; wide tables scroll inside). */
        const overflow = () =>
          page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        await signIn(page, d.url, d.admin);
        // Attached, not visible: a phone's rows leave the sparkline out.
        await page.locator('tr.pair svg.spark path').first().waitFor({ state: 'attached' });
        await screenshot(page, name('overview'));
        expect(await overflow(), name('overview')).toBe(0);
        await page.goto(`${d.url}/#/d/${lab.destinations[2]!.id}`);
        await page.getByRole('heading', { name: /198\.18\.0\.12/ }).waitFor();
        await page.locator('table.results tbody tr').first().waitFor();
        await page.locator('.smoke-chart canvas').first().waitFor();
        await screenshot(page, name('destination'));
        expect(await overflow(), name('destination')).toBe(0);
        await page.goto(`${d.url}/#/manage`);
        await page.getByRole('heading', { name: 'Destinations' }).waitFor();
        await page.locator('table tbody tr').first().waitFor();
        await screenshot(page, name('manage'));
        expect(await overflow(), name('manage')).toBe(0);
        await page.goto(`${d.url}/#/sources`);
        await page.getByRole('heading', { name: 'Sources' }).waitFor();
        await page.locator('table tbody tr').first().waitFor();
        await screenshot(page, name('sources'));
        expect(await overflow(), name('sources')).toBe(0);
        expect(errors).toEqual([]);
        await ctx.close();
      }
    }
  }, 90_000);
});
