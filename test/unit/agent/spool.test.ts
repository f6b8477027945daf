import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from '../../../agent/delivery/spool.js';
import { result } from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Spool.body', () => {
  it('sends only the bytes the segment holds, not what a failed append left past them', async () => {
    const spool = await Spool.open(dir);
    const lines = [result('d', 1), result('d', 2)].map((r) => `${JSON.stringify(r)}\n`).join('');
    await spool.append(Buffer.from(lines), 2);
    await spool.seal();
    const [seg] = spool.sealed;
    // An append that failed half-way and whose truncate back failed too leaves a torn line after the last whole one.
    await appendFile(seg!.path, '{"destination":"d","rti');
    const body = JSON.parse((await spool.body(seg!)).toString()) as { results: unknown[] };
    expect(body.results).toEqual([result('d', 1), result('d', 2)]);
  });
});
