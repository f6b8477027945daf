/**
 * The census page in a real browser against a real control plane: a /16 census whose passes are posted through
 * the agent API with the source's own token, as an agent posts them. The map's states (read from the page's data,
 * not pixels) are exactly the hosts the passes made, a cell's click shows that host, the hosts-up chart draws the
 * passes' answered counts, and the destinations list links to the page. A split census's passes table names the
 * sources that took part, marks a missing or failing one and an incomplete pass in words, and shows the addresses
 * covered, in both themes and at a phone's width without scrolling sideways. Screenshots go to
 * test/browser/artifacts/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CensusHost, CensusPassRecord, Destination, SourceWithToken } from '../../contract/index.js';
import { type Dashboard, launchChromium, screenshot, signIn, startDashboard } from './harness.js';

// What the callbacks given to page.evaluate() use of the page's globals (this project's tsconfig has no DOM).
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelector(s: string): { scrollWidth: number; clientWidth: number } | null;
};
declare function getComputedStyle(el: unknown): { color: string; backgroundColor: string };
declare const window: {
  __pingerCensusMap?: { prefix: string; cols: number; rows: number; states: Record<string, string> };
  __pingerHostsChart?: number[][];
  __pingerHostHistory?: { address: string; data: (number | null)[][] };
};

const A = '198.18.0.7';
const B = '198.18.1.20';
const C = '198.18.255.254';
const E = '198.18.128.1';
const F = '198.18.64.64';
const G = '198.18.200.3';
/** Who answered each pass, oldest first (goneAfter 2: E misses the last two and is gone, C and F miss one). */
const PASSES = [
  [A, B, C, E, F],
  [A, B, C, F],
  [A, B, G],
];
const EXPECTED = { [A]: 'up', [B]: 'up', [G]: 'new', [C]: 'down', [F]: 'down', [E]: 'gone' };

let d: Dashboard;
let browser: Browser;
let census: Destination;
const starts: bigint[] = [];
/** A split /24 census of sources ams-1 (a) and fra-1 (b). */
let split: Destination;
let a: SourceWithToken;
let b: SourceWithToken;

/** Posts `who`'s report of its slice [from, to) of the split census's pass at `slot`, as its agent does. */
async function postSlice(
  who: SourceWithToken,
  slot: bigint,
  [from, to]: [number, number],
  errors: 'none' | 'all',
): Promise<void> {
  const res = await fetch(`${d.url}/v1/agent/census/passes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      destination: split.id,
      prefix: '198.19.0.0/24',
      start: slot.toString(),
      end: (slot + 2_000_000_000n).toString(),
      addresses: to - from,
      probed: to - from,
      answered: 0,
      retries: 0,
      errors: errors === 'all' ? to - from : 0,
      skipped: 0,
      rate: 1000,
      slice: { slot: slot.toString(), from, to, of: 254, members: [a.id, b.id].sort() },
      answers: [],
    }),
  });
  if (res.status !== 200) throw new Error(`posting a slice: ${res.status} ${await res.text()}`);
}

/** WCAG contrast ratio of two CSS colours as Chromium computes them (`rgb(…)` or `color(srgb …)`). */
function contrast(fg: string, bg: string): number {
  const channels = (css: string) => {
    const srgb = /color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)/.exec(css);
    if (srgb) return srgb.slice(1, 4).map(Number);
    const rgb = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
    if (rgb) return rgb.slice(1, 4).map((x) => Number(x) / 255);
    throw new Error(`a colour this test cannot read: ${css}`);
  };
  const lum = (css: string) => {
    const [r, g, b2] = channels(css).map((c) => (c <= 0.039_28 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b2!;
  };
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

beforeAll(async () => {
  d = await startDashboard();
  browser = await launchChromium();
  const source = await d.api.call<SourceWithToken>('POST', '/v1/sources', { name: 'ams-1' });
  census = await d.api.call<Destination>('POST', '/v1/destinations', {
    address: '198.18.0.0/16',
    census: { goneAfter: 2 },
  });
  const now = BigInt(Date.now()) * 1_000_000n;
  for (const [i, answering] of PASSES.entries()) {
    const start = now - BigInt(PASSES.length - i) * 1_800_000_000_000n;
    starts.push(start);
    const res = await fetch(`${d.url}/v1/agent/census/passes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${source.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        destination: census.id,
        prefix: '198.18.0.0/16',
        start: start.toString(),
        end: (start + 13_500_000_000n).toString(),
        addresses: 65_534,
        probed: 65_534 + 100 * i,
        answered: answering.length,
        retries: 100 * i,
        errors: 0,
        skipped: i === 2 ? 1 : 0,
        rate: 5000,
        answers: answering.map((a, k) => [a, 900 + 100 * k + i]),
      }),
    });
    if (res.status !== 200) throw new Error(`posting a pass: ${res.status} ${await res.text()}`);
  }

  // The split census: a complete pass, then one in which fra-1's probes all failed, then one it never reported.
  a = source;
  b = await d.api.call<SourceWithToken>('POST', '/v1/sources', { name: 'fra-1' });
  split = await d.api.call<Destination>('POST', '/v1/destinations', {
    address: '198.19.0.0/24',
    sources: [a.id, b.id],
    census: { split: true, goneAfter: 2 },
  });
  const [first, second] = [a, b].sort((x, y) => (x.id < y.id ? -1 : 1)) as [SourceWithToken, SourceWithToken];
  for (const [i, bFails] of (['none', 'all', 'missing'] as const).entries()) {
    const slot = now - BigInt(3 - i) * 1_800_000_000_000n;
    await postSlice(first, slot, [0, 127], 'none');
    if (bFails !== 'missing') await postSlice(second, slot, [127, 254], bFails);
  }
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await d?.close();
});

describe('census page', () => {
  it('maps exactly the hosts the passes made, shows a clicked host, and charts the answered counts', async () => {
    // The API is what the page must agree with.
    const { hosts } = await d.api.call<{ hosts: CensusHost[] }>('GET', `/v1/census/${census.id}/hosts`);
    expect(hosts.filter((h) => h.state === 'up').map((h) => h.address)).toEqual([A, B, G]);

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await signIn(page, d.url, d.admin);

    // The destinations list links a prefix to its census page.
    await page.goto(`${d.url}/#/manage`);
    const link = page.locator(`tr[data-destination="${census.id}"] a`).first();
    expect(await link.getAttribute('href')).toBe(`#/census/${census.id}`);
    await link.click();

    await page.waitForFunction(() => window.__pingerCensusMap !== undefined, undefined, { timeout: 10_000 });
    await page.waitForFunction(() => window.__pingerHostsChart !== undefined, undefined, { timeout: 10_000 });
    const map = await page.evaluate(() => window.__pingerCensusMap!);
    expect(map.prefix).toBe('198.18.0.0/16');
    expect([map.cols, map.rows]).toEqual([256, 256]);
    expect(map.states).toEqual(EXPECTED);
    expect(
      Object.entries(map.states)
        .filter(([, s]) => s === 'up' || s === 'new')
        .map(([a]) => a)
        .sort(),
    ).toEqual([A, B, G].sort());

    const chart = await page.evaluate(() => window.__pingerHostsChart!);
    expect(chart[0]).toEqual(starts.map((s) => Number(s / 1_000_000n) / 1000));
    expect(chart[1]).toEqual(PASSES.map((p) => p.length));

    // The passes table, newest first.
    const answered = await page.locator('table.passes tbody tr td[data-col="answered"]').allTextContents();
    expect(answered).toEqual(PASSES.map((p) => String(p.length)).reverse());

    // A click on B's cell (offset 1·256 + 20: row 1, column 20) shows B.
    const canvas = page.locator('canvas.census-map');
    // Playwright's positions are from the padding box's corner; the cells fill the content box.
    const box = await canvas.evaluate((el: { clientWidth: number; clientHeight: number }) => ({
      width: el.clientWidth,
      height: el.clientHeight,
    }));
    expect(box).toEqual({ width: 512, height: 512 });
    await canvas.click({ position: { x: (20.5 * box.width) / 256, y: (1.5 * box.height) / 256 } });
    const details = page.locator('.host-details');
    await details.waitFor();
    expect(await details.getAttribute('data-address')).toBe(B);
    expect(await details.locator('[data-passes]').textContent()).toBe('3');
    expect(await details.textContent()).toContain('up');
    // Its RTT in the last pass: 900 + 100·1 + 2 µs.
    expect(await details.textContent()).toContain('1.00 ms');
    await screenshot(page, 'census');

    // A click on an address that never answered says so.
    await canvas.click({ position: { x: (100.5 * box.width) / 256, y: (100.5 * box.height) / 256 } });
    await page.locator('.host-details[data-address="198.18.100.100"]').waitFor();
    expect(await details.textContent()).toContain('never answered');

    await page.emulateMedia({ colorScheme: 'dark' });
    await canvas.click({ position: { x: (7.5 * box.width) / 256, y: (0.5 * box.height) / 256 } });
    await page.locator(`.host-details[data-address="${A}"]`).waitFor();
    await page.waitForFunction(() => window.__pingerHostsChart !== undefined, undefined, { timeout: 10_000 });
    await screenshot(page, 'census-dark');

    // From the keyboard: the arrows move the pick cell by cell (A is 198.18.0.7; one row down is 198.18.1.7).
    await canvas.focus();
    await page.keyboard.press('ArrowDown');
    await page.locator('.host-details[data-address="198.18.1.7"]').waitFor();

    // At a phone's width the map shrinks whole, square cells and all, and a click still finds its host.
    await page.setViewportSize({ width: 390, height: 844 });
    const small = await canvas.evaluate((el: { clientWidth: number; clientHeight: number }) => ({
      width: el.clientWidth,
      height: el.clientHeight,
    }));
    expect(small.width).toBeLessThan(390);
    expect(small.height).toBe(small.width);
    await canvas.click({ position: { x: (20.5 * small.width) / 256, y: (1.5 * small.height) / 256 } });
    await page.locator(`.host-details[data-address="${B}"]`).waitFor();
    await screenshot(page, 'census-phone');
    await ctx.close();
  }, 60_000);

  it('graphs a clicked host’s RTT per pass with its misses marked, from its history', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await signIn(page, d.url, d.admin);
    await page.goto(`${d.url}/#/census/${census.id}`);
    await page.waitForFunction(() => window.__pingerCensusMap !== undefined, undefined, { timeout: 10_000 });
    const canvas = page.locator('canvas.census-map');
    const side = await canvas.evaluate((el: { clientWidth: number }) => el.clientWidth);
    // F (198.18.64.64) answered passes 0 and 1 (the 5th and 4th to answer: 1300 and 1201 µs) and missed pass 2.
    await canvas.click({ position: { x: (64.5 * side) / 256, y: (64.5 * side) / 256 } });
    const history = page.locator(`.host-history[data-address="${F}"]`);
    await history.waitFor();
    expect(await history.getAttribute('data-passes')).toBe('3');
    expect(await history.getAttribute('data-answered')).toBe('2');
    expect(await history.textContent()).toContain('loss 33');
    await page.waitForFunction((a) => window.__pingerHostHistory?.address === a, F, { timeout: 10_000 });
    const drawn = await page.evaluate(() => window.__pingerHostHistory!.data);
    expect(drawn).toEqual([
      starts.map((s) => Number(s / 1_000_000n) / 1000),
      [1.3, 1.201, null],
      [null, null, 0],
    ]);
    await screenshot(page, 'census-host-history');
    // An address that never answered has no history to draw.
    await canvas.click({ position: { x: (100.5 * side) / 256, y: (100.5 * side) / 256 } });
    await page.locator('.host-details[data-address="198.18.100.100"]').waitFor();
    expect(await page.locator('.host-history').count()).toBe(0);
    await ctx.close();
  }, 60_000);

  it('names the sources of each split pass, marks a missing or failing one and an incomplete pass, on any screen', async () => {
    const { passes } = await d.api.call<{ passes: CensusPassRecord[] }>(
      'GET',
      `/v1/census/${split.id}/passes`,
    );
    const second = [a.id, b.id].sort()[1]!;
    const secondName = second === b.id ? 'fra-1' : 'ams-1';
    expect(passes.map((p) => [p.complete, p.covered, p.missing])).toEqual([
      [false, 127, [second]],
      [true, 254, []],
      [true, 254, []],
    ]);

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await signIn(page, d.url, d.admin);
    await page.goto(`${d.url}/#/census/${split.id}`);
    const rows = page.locator('table.passes tbody tr');
    await rows.nth(2).waitFor();
    expect(await rows.count()).toBe(3);
    const sourcesOf = (i: number) =>
      rows
        .nth(i)
        .locator('.pass-sources li')
        .evaluateAll((lis: { textContent: string | null; getAttribute(n: string): string | null }[]) =>
          lis.map((li) => [li.textContent, li.getAttribute('data-part')]),
        );
    // Newest first: the pass fra-1 (or whichever holds the second slice) never reported, incomplete, in words.
    expect(await rows.nth(0).getAttribute('data-complete')).toBe('false');
    expect(await rows.nth(0).locator('td[data-col="covered"]').textContent()).toBe('127 / 254incomplete');
    const names = new Map([
      [a.id, 'ams-1'],
      [b.id, 'fra-1'],
    ]);
    const firstName = names.get([a.id, b.id].sort()[0]!)!;
    expect(await sourcesOf(0)).toEqual([
      [firstName, 'ok'],
      [`${secondName} (missing)`, 'missing'],
    ]);
    // The one whose second slice had every probe fail: complete (reported), the failure marked.
    expect(await rows.nth(1).locator('td[data-col="covered"]').textContent()).toBe('254 / 254');
    expect(await sourcesOf(1)).toEqual([
      [firstName, 'ok'],
      [`${secondName} (all errors)`, 'failed'],
    ]);
    expect(await sourcesOf(2)).toEqual([
      [firstName, 'ok'],
      [secondName, 'ok'],
    ]);
    expect(await rows.nth(2).locator('.incomplete-badge').count()).toBe(0);

    // The marks are readable in both themes: at least 4.5:1 against the table's background.
    const missing = rows.nth(0).locator('li[data-part="missing"]');
    const badge = rows.nth(0).locator('.incomplete-badge');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      const bg = await page
        .locator('table.passes')
        .evaluate((el) => getComputedStyle((el as { parentElement: unknown }).parentElement).backgroundColor);
      for (const mark of [missing, badge]) {
        const fg = await mark.evaluate((el) => getComputedStyle(el).color);
        expect(contrast(fg, bg), `${scheme}: ${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
      }
      await screenshot(page, `census-split-${scheme}`);
    }

    // At a phone's width every pass is a card: nothing scrolls sideways, the marks still there.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'light' });
    // The charts follow the new width on their next resize callback: wait (bounded) for the page to settle.
    await page.waitForFunction(
      () => document.documentElement.scrollWidth <= document.documentElement.clientWidth,
      undefined,
      { timeout: 10_000 },
    );
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      view: document.documentElement.clientWidth,
      table: document.querySelector('.census .table-wrap')!.scrollWidth,
      wrap: document.querySelector('.census .table-wrap')!.clientWidth,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    expect(widths.table).toBeLessThanOrEqual(widths.wrap);
    const box = await badge.boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await missing.isVisible()).toBe(true);
    await screenshot(page, 'census-split-phone');
    await ctx.close();
  }, 60_000);
});
