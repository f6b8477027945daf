/**
 * The agent's pass uploader against a real control plane (serve() on a SQLite file): a record pushed while the
 * control plane is away stays spooled on disk across a restart of the uploader and is delivered once it is back;
 * a record the control plane refuses for good moves to rejected/ and does not block the next.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassUploader } from '../../../agent/delivery/census-passes.js';
import type { CensusPass } from '../../../contract/index.js';
import { until } from '../../helpers/until.js';
import { startControlPlane, type TestControlPlane } from './control-plane.js';

const silent = { info() {}, warn() {}, error() {} };
const backoff = { baseMs: 20, capMs: 100 };

function record(destination: string, start: bigint, answers: [string, number | null][]): CensusPass {
  return {
    destination,
    prefix: '198.18.0.0/24',
    start: start.toString(),
    end: (start + 1_000_000_000n).toString(),
    addresses: 254,
    probed: 254,
    answered: answers.length,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 5000,
    answers,
  };
}

describe('census pass uploader', () => {
  let dir: string;
  let cp: TestControlPlane | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinger-passes-'));
  });
  afterEach(async () => {
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a record on disk while the control plane is away and delivers it once it is back', async () => {
    const db = join(dir, 'pinger.db');
    cp = await startControlPlane(db);
    const source = await cp.createSource('a');
    const census = await cp.createDestination({ address: '198.18.0.0/24' });
    const url = cp.url;
    const port = Number(new URL(url).port);
    await cp.close();
    cp = undefined;

    const spoolDir = join(dir, 'spool');
    const away = await PassUploader.open({ url, token: source.token, spoolDir, logger: silent, backoff });
    away.push(record(census.id, 1_763_780_000_000_000_000n, [['198.18.0.5', 250]]));
    await until('the record spooled', async () => away.pending === 1, 5000);
    await away.close(200);
    expect(await readdir(join(spoolDir, 'census-passes'))).toHaveLength(2); // the record and rejected/

    cp = await startControlPlane(db, port);
    const back = await PassUploader.open({ url, token: source.token, spoolDir, logger: silent, backoff });
    await until('the record delivered', async () => back.delivered === 1, 10_000);
    const hosts = await cp.api<{ hosts: { address: string; lastRtt: number }[] }>(
      'GET',
      `/v1/census/${census.id}/hosts`,
    );
    expect(hosts.body.hosts).toMatchObject([{ address: '198.18.0.5', lastRtt: 250 }]);
    expect((await readdir(join(spoolDir, 'census-passes'))).filter((f) => f.endsWith('.json'))).toEqual([]);

    // A record for a destination that is not a census is refused for good: moved aside, the next one delivered.
    const single = await cp.createDestination({ address: '198.18.0.1' });
    back.push(record(single.id, 1_763_780_000_000_000_000n, []));
    back.push(record(census.id, 1_763_780_060_000_000_000n, []));
    await until('the second record delivered', async () => back.delivered === 2, 10_000);
    const rejected = await readdir(join(spoolDir, 'census-passes', 'rejected'));
    expect(rejected).toEqual([`01763780000000000000-${single.id}.json`]);
    expect(existsSync(join(spoolDir, 'census-passes', rejected[0]!))).toBe(false);
    await back.close(200);
  }, 30_000);
});
