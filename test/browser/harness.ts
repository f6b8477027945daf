/**
 * What the browser tests stand on: a real control plane (control-plane/node.ts on 127.0.0.1, a SQLite file in a
 * temp dir) serving a real build of the dashboard, fed through its own API — sources and destinations by the
 * admin, results posted by each source's agent token as an agent posts them — and Debian's Chromium driven
 * headless by playwright-core (no browser download). Screenshots land in test/browser/artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Destination, ResultInput, Source, SourceWithToken } from '../../contract/index.js';
import { type ServerHandle, serve } from '../../control-plane/node.js';
import { buildWeb } from '../../scripts/build-web/build.js';
import { type AdminApi, adminApi } from '../helpers/admin-api.js';
import { mulberry32 } from '../helpers/prng.js';

export const ROOT = join(import.meta.dirname, '../..');
export const ARTIFACTS = join(import.meta.dirname, 'artifacts');
export const CHROMIUM = '/usr/bin/chromium';

export interface Dashboard {
  url: string;
  admin: string;
  api: AdminApi;
  close(): Promise<void>;
}

/**
 * Builds the dashboard into a temp dir (or serves the build in `webDir`, e.g. an older one a benchmark compares
 * with) and starts a control plane serving it with an empty database.
 */
export async function startDashboard(options: { webDir?: string } = {}): Promise<Dashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-browser-'));
  if (!options.webDir) await buildWeb({ root: ROOT, outDir: join(dir, 'web') });
  const admin = `browser-test-admin-${crypto.randomUUID()}`;
  let server: ServerHandle;
  try {
    server = await serve({
      port: 0,
      dbPath: join(dir, 'pinger.db'),
      adminToken: admin,
      webDir: options.webDir ?? join(dir, 'web'),
      parserThreads: 0,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: server.url,
    admin,
    api: adminApi(server.url, admin),
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with a fresh profile; the flags keep it off the network and quiet as root in a container. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--no-first-run',
    ],
  });
}

/** Types `token` into the sign-in form and waits for the signed-in shell to know the token's kind. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The shell shows what the token may do once the server has said.
  await page.locator('.who').waitFor({ state: 'attached', timeout: 10_000 });
}

/** Saves a screenshot, of the whole page unless `fullPage` is false, as test/browser/artifacts/NAME.png. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

export interface Lab {
  sources: SourceWithToken[];
  destinations: Destination[];
  /** The loss each destination was given, by id (the results' timeouts make exactly this fraction). */
  loss: Map<string, number>;
}

/** Every `1 / loss`-th probe (rounded) times out, the rest answer in about `baseUs` µs. */
export interface PlannedDestination {
  address: string;
  labels?: Record<string, string>;
  loss: number;
  baseUs: number;
}

/**
 * Creates `sourceNames` and the `planned` destinations, then posts, from every source, a result every
 * `everyS` seconds over the `spanS` seconds before now, through the agent API with the source's own token.
 */
export async function seedLab(
  d: Dashboard,
  planned: PlannedDestination[],
  options: { sourceNames?: string[]; spanS?: number; everyS?: number; seed?: number } = {},
): Promise<Lab> {
  const { sourceNames = ['ams-1', 'fra-1'], spanS = 3600, everyS = 5, seed = 12 } = options;
  const sources: SourceWithToken[] = [];
  for (const name of sourceNames)
    sources.push(await d.api.call<SourceWithToken>('POST', '/v1/sources', { name }));
  const destinations: Destination[] = [];
  for (const p of planned) {
    destinations.push(
      await d.api.call<Destination>('POST', '/v1/destinations', {
        address: p.address,
        labels: p.labels ?? {},
      }),
    );
  }
  const random = mulberry32(seed);
  const now = BigInt(Date.now()) * 1_000_000n;
  const count = Math.floor(spanS / everyS);
  for (const source of sources) {
    for (const [k, dest] of destinations.entries()) {
      const plan = planned[k]!;
      const every = plan.loss > 0 ? Math.round(1 / plan.loss) : 0;
      const results: ResultInput[] = [];
      for (let i = 0; i < count; i++) {
        const rtime = (now - BigInt(spanS - i * everyS) * 1_000_000_000n).toString();
        const lost = every > 0 && i % every === 0;
        const base = {
          destination: dest.id,
          rtime,
          target: dest.address,
          protocol: 'icmp' as const,
          rid: 7,
          rseq: i % 65_536,
        };
        results.push(
          lost
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
                address: dest.address,
                rtt: plan.baseUs * (0.8 + 0.4 * random()) + (random() < 0.05 ? plan.baseUs * 2 : 0),
                rtype: 0,
                rcode: 0,
                datamatch: true,
                ttl: 60,
              },
        );
      }
      for (let at = 0; at < results.length; at += 5000) {
        const res = await fetch(`${d.url}/v1/agent/results`, {
          method: 'POST',
          headers: { authorization: `Bearer ${source.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ results: results.slice(at, at + 5000) }),
        });
        if (res.status !== 200) throw new Error(`posting results: ${res.status} ${await res.text()}`);
      }
    }
  }
  return { sources, destinations, loss: new Map(destinations.map((x, k) => [x.id, planned[k]!.loss])) };
}

export type { Source };
