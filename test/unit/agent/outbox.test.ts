import { execFileSync } from 'node:child_process';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Outbox, type OutboxOptions } from '../../../agent/delivery/outbox.js';
import { type Deliver, resultsClient } from '../../../agent/delivery/results-client.js';
import { Spool } from '../../../agent/delivery/spool.js';
import { createAgentMetrics, metricValue } from '../../../agent/metrics/metrics.js';
import { result } from './fixtures.js';
import { memoryLogger, type ResultsServer, startResultsServer, until } from './results-server.js';

let dir: string;
let server: ResultsServer;
const opened: Outbox[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-outbox-'));
  server = await startResultsServer();
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close(100);
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Answers like the control plane when a batch holds results of the destination `deleted`: 400 naming the first of
 * them (with `code`), 200 otherwise.
 */
function refuseDeleted(code: string): ResultsServer['answer'] {
  return (rs) => {
    const i = rs.findIndex((r) => r.destination === 'deleted');
    return i < 0
      ? { status: 200 }
      : {
          status: 400,
          body: {
            error: {
              code,
              message: 'unknown destination',
              issues: [{ path: `results.${i}.destination`, message: 'no destination deleted' }],
            },
          },
        };
  };
}

async function open(options: Partial<OutboxOptions> = {}) {
  const outbox = await Outbox.open({
    spoolDir: dir,
    deliver: resultsClient({ url: server.url, token: 'agent-token', timeoutMs: 2000 }),
    batchSize: 10,
    batchAgeMs: 100,
    flushMs: 20,
    backoff: { baseMs: 10, capMs: 50 },
    ...options,
  });
  opened.push(outbox);
  return outbox;
}

async function spoolLines(spoolDir = dir): Promise<string[]> {
  const segDir = join(spoolDir, 'segments');
  const names = (await readdir(segDir)).sort();
  // A segment may vanish (delivered, dropped) or grow while we read: count whole lines of what is there.
  const texts = await Promise.all(names.map((n) => readFile(join(segDir, n), 'utf8').catch(() => '')));
  return texts.flatMap((t) =>
    t
      .slice(0, t.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean),
  );
}

const seqs = (rs: { rseq: number }[]) => [...new Set(rs.map((r) => r.rseq))].sort((a, b) => a - b);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('outbox', () => {
  it('writes results to the spool before sending and deletes a segment only after a 200', async () => {
    server.answer = () => ({ status: 503 });
    const outbox = await open();
    for (let i = 0; i < 25; i++) outbox.push(result('d', i));
    // On disk (all 25) while the control plane refuses; nothing deleted.
    await until('25 results spooled', async () => (await spoolLines()).length === 25);
    await until('a few failed attempts', () => server.requests.length >= 3);
    expect(server.stored).toHaveLength(0);
    expect((await spoolLines()).length).toBe(25);
    server.answer = () => ({ status: 200 });
    await until('all delivered', () => outbox.stats().delivered === 25);
    expect(seqs(server.stored)).toEqual(range(25));
    expect(await spoolLines()).toEqual([]);
    // Every batch was sent after it was on disk: the first request only came once a segment was sealed.
    expect(server.requests.every((r) => r.results <= 10)).toBe(true);
  });

  it('replays the spool left by a previous run (results not confirmed are re-sent)', async () => {
    server.answer = () => ({ status: 500 });
    const first = await open();
    for (let i = 0; i < 30; i++) first.push(result('d', i));
    await first.close(50);
    expect((await spoolLines()).length).toBe(30);
    server.answer = () => ({ status: 200 });
    const logger = memoryLogger();
    const second = await open({ logger });
    await until('replayed', () => second.stats().delivered === 30);
    expect(seqs(server.stored)).toEqual(range(30));
    expect(logger.lines.some((l) => /replaying segments/.test(l.msg) && l.obj.results === 30)).toBe(true);
  });

  it('drops a torn last line left by a crash and still sends the rest of the segment', async () => {
    const first = await open({ batchAgeMs: 60_000 });
    server.answer = () => ({ status: 503 });
    for (let i = 0; i < 5; i++) first.push(result('d', i));
    await until('spooled', async () => (await spoolLines()).length === 5);
    const segDir = join(dir, 'segments');
    const [name] = await readdir(segDir);
    await first.close(10);
    // The crash: a write that reached the file only in part.
    await appendFile(join(segDir, name!), '{"destination":"d","rti');
    server.answer = () => ({ status: 200 });
    const second = await open();
    await until('delivered', () => second.stats().delivered === 5);
    expect(seqs(server.stored)).toEqual(range(5));
  });

  it('a 200 without a receipt for the whole batch deletes nothing: retried and logged until a real receipt', async () => {
    let answers = 0;
    server.answer = (rs) =>
      ++answers <= 3
        ? { status: 200, body: '<html>catch-all</html>' }
        : { status: 200, body: { stored: rs.length, duplicates: 0 } };
    const logger = memoryLogger();
    const outbox = await open({ logger });
    for (let i = 0; i < 10; i++) outbox.push(result('d', i));
    await until('three unconfirmed 200s', () => server.requests.length >= 3);
    await until('delivered on a real receipt', () => outbox.stats().delivered === 10);
    expect(outbox.stats().retries).toBe(3);
    expect(server.requests.map((r) => r.results)).toEqual([10, 10, 10, 10]);
    const warn = logger.lines.find((l) => /delivery failed/.test(l.msg))!;
    expect(String(warn.obj.message)).toMatch(/without a batch receipt/);
    expect(await spoolLines()).toEqual([]);
  });

  it('opens a large spool by counting lines, not parsing each one (probing starts sooner)', async () => {
    const segDir = join(dir, 'segments');
    await mkdir(segDir, { recursive: true });
    const text = range(500)
      .map((i) => `${JSON.stringify(result('d', i))}\n`)
      .join('');
    for (let id = 1; id <= 20; id++)
      await writeFile(join(segDir, `seg-${String(id).padStart(12, '0')}.ndjson`), text);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const spool = await Spool.open(dir);
      expect(spool.pendingResults).toBe(10_000);
      expect(spool.sealed).toHaveLength(20);
      // The first and last line of each segment, not 10,000 lines (2.7 s → 0.4 s for a full 256 MiB spool).
      expect(parse.mock.calls.length).toBeLessThanOrEqual(2 * 20);
    } finally {
      parse.mockRestore();
    }
  });

  it('starts despite an unreadable segment left by a previous run (moved aside) and sends the others', async () => {
    const segDir = join(dir, 'segments');
    await mkdir(segDir, { recursive: true });
    const seg = (id: number) => join(segDir, `seg-${String(id).padStart(12, '0')}.ndjson`);
    const lines = (from: number) =>
      range(10, from)
        .map((i) => `${JSON.stringify(result('d', i))}\n`)
        .join('');
    await writeFile(seg(1), lines(0));
    await mkdir(seg(2)); // cannot be read as a file (EISDIR)
    await writeFile(seg(3), lines(10));
    await writeFile(seg(4), 'not json\nnor this\n'); // damage, not a torn append
    const logger = memoryLogger();
    const outbox = await open({ logger });
    for (let i = 20; i < 30; i++) outbox.push(result('d', i));
    await until('the readable ones and the new ones delivered', () => outbox.stats().delivered === 30);
    expect(seqs(server.stored)).toEqual(range(30));
    expect(await readdir(join(dir, 'unreadable'))).toEqual(['seg-000000000002.ndjson']);
    expect(await readdir(join(dir, 'rejected'))).toEqual(['seg-000000000004.ndjson']);
    expect(logger.lines.some((l) => l.level === 'warn' && /moved it to unreadable/.test(l.msg))).toBe(true);
    expect(logger.lines.some((l) => l.level === 'warn' && /holds no valid result/.test(l.msg))).toBe(true);
  });

  it('retries with exponential backoff and full jitter', async () => {
    server.answer = () => ({ status: 500 });
    // random() just below 1: each wait sits at its ceiling, 10, 20, 40, 80, 80 ms …
    const outbox = await open({ backoff: { baseMs: 10, capMs: 80, random: () => 0.999 } });
    for (let i = 0; i < 10; i++) outbox.push(result('d', i));
    await until('6 attempts', () => server.requests.length >= 6);
    const gaps = server.requests.slice(0, 6).map((r, i, a) => (i === 0 ? 0 : r.at - a[i - 1]!.at));
    const ceilings = [10, 20, 40, 80, 80];
    for (let i = 1; i < 6; i++) {
      expect(gaps[i]!).toBeGreaterThanOrEqual(ceilings[i - 1]! - 2);
      expect(gaps[i]!).toBeLessThan(ceilings[i - 1]! + 150);
    }
    expect(outbox.stats().retries).toBeGreaterThanOrEqual(5);
  });

  it('moves a batch refused with 400 to rejected/ (logged, counted) and keeps delivering the others', async () => {
    server.answer = (rs) =>
      rs.some((r) => r.destination === 'bad')
        ? {
            status: 400,
            body: {
              error: {
                code: 'bad_request',
                message: 'unknown destination',
                issues: [{ path: 'results.0.destination', message: 'no such destination' }],
              },
            },
          }
        : { status: 200 };
    const metrics = createAgentMetrics();
    const logger = memoryLogger();
    const outbox = await open({ metrics, logger });
    for (let i = 0; i < 10; i++) outbox.push(result('bad', i));
    for (let i = 0; i < 10; i++) outbox.push(result('good', i));
    await until('good delivered', () => outbox.stats().delivered === 10);
    await until('bad rejected', () => outbox.stats().rejected === 10);
    const rejected = await readdir(join(dir, 'rejected'));
    expect(rejected).toHaveLength(1);
    const kept = (await readFile(join(dir, 'rejected', rejected[0]!), 'utf8')).trim().split('\n');
    expect(kept.map((l) => JSON.parse(l).destination)).toEqual(new Array(10).fill('bad'));
    expect(await metricValue(metrics.dropped, { reason: 'rejected' })).toBe(10);
    const line = logger.lines.find((l) => /refused a batch/.test(l.msg))!;
    expect(line.level).toBe('error');
    expect(String(line.obj.message)).toMatch(/results\.0\.destination: no such destination/);
    // Refused once, not retried forever.
    expect(server.requests.filter((r) => r.status === 400)).toHaveLength(1);
    expect(await spoolLines()).toEqual([]);
  });

  it('on a 400 naming one result, moves only the results of that destination to rejected/ and resends the rest', async () => {
    // Like the control plane: the first result of an unknown destination is named.
    server.answer = refuseDeleted('not_found');
    const logger = memoryLogger();
    const outbox = await open({ logger });
    for (let i = 0; i < 10; i++) outbox.push(result(i % 2 ? 'deleted' : 'kept', i));
    await until('kept delivered', () => outbox.stats().delivered === 5);
    expect(outbox.stats().rejected).toBe(5);
    expect(seqs(server.stored)).toEqual([0, 2, 4, 6, 8]);
    const [file] = await readdir(join(dir, 'rejected'));
    const rejected = (await readFile(join(dir, 'rejected', file!), 'utf8')).trim().split('\n');
    expect(rejected.map((l) => JSON.parse(l).rseq)).toEqual([1, 3, 5, 7, 9]);
    expect(server.requests.map((r) => r.status)).toEqual([400, 200]);
    expect(
      logger.lines.some((l) => /refused some results of a batch/.test(l.msg) && l.obj.refused === 5),
    ).toBe(true);
  });

  it('when a refused batch cannot be moved to rejected/, keeps it queued whole (good results too) and retries', async () => {
    server.answer = refuseDeleted('bad_request');
    const logger = memoryLogger();
    const outbox = await open({ logger });
    // rejected/ is not a directory: every write into it fails (ENOTDIR), as a full disk would (ENOSPC).
    await rm(join(dir, 'rejected'), { recursive: true });
    await writeFile(join(dir, 'rejected'), 'not a directory');
    for (let i = 0; i < 10; i++) outbox.push(result(i % 2 ? 'deleted' : 'kept', i));
    await until('refused several times', () => server.requests.filter((r) => r.status === 400).length >= 3);
    expect(outbox.stats()).toMatchObject({ delivered: 0, rejected: 0, dropped: 0, pending: 10 });
    expect((await spoolLines()).length).toBe(10);
    expect(logger.lines.some((l) => /cannot move a refused batch/.test(l.msg))).toBe(true);
    // The disk recovers: the split goes through, the good half is delivered, nothing counted twice.
    await rm(join(dir, 'rejected'));
    await mkdir(join(dir, 'rejected'));
    await until('kept delivered', () => outbox.stats().delivered === 5);
    expect(outbox.stats()).toMatchObject({ rejected: 5, dropped: 5, pending: 0 });
    expect(seqs(server.stored)).toEqual([0, 2, 4, 6, 8]);
    expect(await readdir(join(dir, 'rejected'))).toHaveLength(1);
  });

  it('a 400 that is not the control plane refusing this batch (a proxy page) is retried, never rejected', async () => {
    let answers = 0;
    server.answer = () =>
      ++answers <= 3 ? { status: 400, body: '<html>400 Bad Request</html>' } : { status: 200 };
    const outbox = await open();
    for (let i = 0; i < 10; i++) outbox.push(result('d', i));
    await until('delivered after the proxy recovers', () => outbox.stats().delivered === 10);
    expect(outbox.stats()).toMatchObject({ rejected: 0, dropped: 0, retries: 3 });
    expect(await readdir(join(dir, 'rejected'))).toEqual([]);
  });

  it('keeps rejected/ within a byte bound of its own: the oldest refused batches go first, logged', async () => {
    server.answer = () => ({ status: 400, body: { error: { code: 'invalid_json', message: 'not JSON' } } });
    const logger = memoryLogger();
    const outbox = await open({ logger, maxRejectedBytes: 3000 });
    for (let i = 0; i < 100; i++) outbox.push(result('d', i));
    await until('all refused', () => outbox.stats().rejected === 100);
    const files = await readdir(join(dir, 'rejected'));
    const sizes = await Promise.all(
      files.map(async (f) => (await readFile(join(dir, 'rejected', f))).length),
    );
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(3000);
    expect(files.length).toBeGreaterThan(0);
    // The newest refused batch is kept, the oldest deleted.
    const kept = (await Promise.all(files.map((f) => readFile(join(dir, 'rejected', f), 'utf8')))).flatMap(
      (t) =>
        t
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).rseq as number),
    );
    expect(kept).toContain(99);
    expect(kept).not.toContain(0);
    const warn = logger.lines.filter((l) => /rejected\/ over its bound/.test(l.msg));
    expect(warn.length).toBeGreaterThan(0);
    expect(warn.at(-1)!.obj.totalFilesDropped).toBe(10 - files.length);
    // A restart counts what is there against the bound too.
    await outbox.close(100);
    const reopened = await open({ logger, maxRejectedBytes: 1 });
    expect(await readdir(join(dir, 'rejected'))).toEqual([]);
    await reopened.close(100);
  });

  it('a segment that cannot be read (EISDIR, EIO…) is retried with backoff, never dropped', async () => {
    server.answer = () => ({ status: 503 });
    const logger = memoryLogger();
    const outbox = await open({ logger });
    for (let i = 0; i < 10; i++) outbox.push(result('d', i));
    await until('sent once', () => server.requests.length >= 1);
    const [name] = await readdir(join(dir, 'segments'));
    const path = join(dir, 'segments', name!);
    const content = await readFile(path, 'utf8');
    // The file turns into something unreadable as a file (a link to a directory: EISDIR), and back, each by one
    // rename: the outbox retries all the time, and must never catch the path missing (that is a lost segment).
    await mkdir(join(dir, 'a-directory'));
    await symlink(join(dir, 'a-directory'), join(dir, 'unreadable'));
    await rename(join(dir, 'unreadable'), path);
    const retries = outbox.stats().retries;
    const posts = server.requests.length;
    await until('read failures retried', () => outbox.stats().retries >= retries + 3);
    // Retries without POSTs (one may have been on its way at the rename): the reads failed.
    expect(server.requests.length).toBeLessThanOrEqual(posts + 1);
    expect(outbox.stats()).toMatchObject({ dropped: 0, pending: 10 });
    await writeFile(join(dir, 'readable'), content);
    await rename(join(dir, 'readable'), path);
    server.answer = () => ({ status: 200 });
    await until('delivered once readable', () => outbox.stats().delivered === 10);
    expect(outbox.stats().dropped).toBe(0);
  });

  it('a segment deleted from outside is counted lost; a corrupt one goes to rejected/ (the control plane refuses it)', async () => {
    server.answer = () => ({ status: 503 });
    const logger = memoryLogger();
    const outbox = await open({ logger, batchAgeMs: 10_000 });
    for (let i = 0; i < 20; i++) outbox.push(result('d', i));
    await until('two segments sealed', async () => (await readdir(join(dir, 'segments'))).length === 2);
    await until('sent once', () => server.requests.length >= 1);
    const [first, second] = (await readdir(join(dir, 'segments'))).sort();
    await rm(join(dir, 'segments', first!));
    await writeFile(join(dir, 'segments', second!), 'garbage\nmore garbage\n');
    // Still 503: a request for the first segment already under way cannot be confirmed now.
    await until('both handled', () => outbox.stats().pending === 0);
    expect(outbox.stats()).toMatchObject({ delivered: 0, dropped: 20, rejected: 10 });
    expect(logger.lines.some((l) => /vanished/.test(l.msg))).toBe(true);
    const [file] = await readdir(join(dir, 'rejected'));
    expect(await readFile(join(dir, 'rejected', file!), 'utf8')).toBe('garbage\nmore garbage\n');
  });

  it('never drops the segment it is handling to make room: a refused batch being split is not also counted dropped', async () => {
    const lineBytes = JSON.stringify(result('kept', 10)).length + 1;
    const real = resultsClient({ url: server.url, token: 'agent-token', timeoutMs: 2000 });
    let outbox: Outbox | undefined;
    let first = true;
    // The first batch is refused (half of it named); as the answer arrives, a full batch more pushes the spool over
    // its bound, and the byte bound's flush runs while the refusal is being handled.
    const deliver: Deliver = async (body, count, signal) => {
      if (!first) return real(body, count, signal);
      first = false;
      for (let i = 10; i < 20; i++) outbox!.push(result('late', i));
      return {
        kind: 'rejected',
        status: 400,
        message: 'unknown destination',
        issues: [{ path: 'results.1.destination', message: 'no destination deleted' }],
      };
    };
    outbox = await open({ deliver, maxBytes: lineBytes * 15 });
    for (let i = 0; i < 10; i++) outbox.push(result(i % 2 ? 'deleted' : 'kept', i));
    await until('all handled', () => {
      const st = outbox!.stats();
      return st.pending === 0 && st.delivered + st.dropped === 20;
    });
    // `dropped` counts the refused results too: nothing else was dropped.
    expect(outbox.stats()).toMatchObject({ delivered: 15, rejected: 5, dropped: 5 });
    expect(seqs(server.stored)).toEqual([0, 2, 4, 6, 8, ...range(10, 10)]);
    await outbox.close(100);
    expect(await spoolLines()).toEqual([]);
  });

  it('stays within its byte bound by dropping the oldest segments, counted', async () => {
    server.answer = () => ({ status: 503 });
    const metrics = createAgentMetrics();
    const logger = memoryLogger();
    const lineBytes = JSON.stringify(result('d', 100)).length + 1;
    // Room for about three segments of ten.
    const outbox = await open({
      maxBytes: lineBytes * 35,
      metrics,
      logger,
      backoff: { baseMs: 5000, capMs: 5000 },
    });
    for (let i = 100; i < 200; i++) {
      outbox.push(result('d', i));
      if (i % 10 === 9) {
        const pushed = i - 99;
        await until('written', async () => (await spoolLines()).length + outbox.stats().dropped === pushed);
      }
    }
    await until('spooled', async () => (await spoolLines()).length + outbox.stats().dropped === 100);
    const dropped = outbox.stats().dropped;
    expect(dropped).toBeGreaterThanOrEqual(60);
    expect(await metricValue(metrics.dropped, { reason: 'spool_full' })).toBe(dropped);
    expect(await metricValue(metrics.spoolBytes)).toBeLessThanOrEqual(lineBytes * 35);
    expect(logger.lines.some((l) => l.msg.includes('dropped results') && l.obj.reason === 'spool_full')).toBe(
      true,
    );
    // What is kept is the newest (plus the oldest segment, which was being sent and is never dropped mid-flight).
    const kept = (await spoolLines()).map((l) => JSON.parse(l).rseq as number).sort((a, b) => a - b);
    expect(kept.slice(-20)).toEqual(range(20, 180));
    expect(kept.length + dropped).toBe(100);
  });

  it('close() writes memory to the spool and makes a final send within its deadline', async () => {
    const outbox = await open({ batchSize: 1000, batchAgeMs: 60_000, flushMs: 60_000 });
    for (let i = 0; i < 7; i++) outbox.push(result('d', i));
    expect(server.requests).toHaveLength(0);
    const stats = await outbox.close(2000);
    expect(stats.delivered).toBe(7);
    expect(seqs(server.stored)).toEqual(range(7));
    expect(await spoolLines()).toEqual([]);
  });

  it('a memory trim while a batch is being written neither loses the next results nor counts written ones dropped', async () => {
    const outbox = await open({ batchSize: 10, maxMemoryResults: 20, batchAgeMs: 60_000, flushMs: 60_000 });
    // A full batch: the flush starts on the next turn of the loop, takes 0-9 and waits for the disk.
    for (let i = 0; i < 10; i++) outbox.push(result('d', i));
    await new Promise((r) => setImmediate(r));
    // Meanwhile 11 more: 21 held, one over the bound, so the oldest goes: 0, which is being written anyway.
    for (let i = 10; i < 21; i++) outbox.push(result('d', i));
    const stats = await outbox.close(2000);
    expect(seqs(server.stored)).toEqual(range(21));
    expect(stats.delivered).toBe(21);
    expect(stats.dropped).toBe(0);
  });

  it('close() with the control plane stalled leaves the batch in the spool for the next start', async () => {
    server.answer = () => 'stall';
    const outbox = await open({ batchSize: 1000, batchAgeMs: 60_000 });
    for (let i = 0; i < 7; i++) outbox.push(result('d', i));
    const t0 = performance.now();
    const stats = await outbox.close(300);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(stats.pending).toBe(7);
    expect((await spoolLines()).length).toBe(7);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'close() on a full disk with the control plane down: what cannot be spooled is counted dropped, not pending',
    async () => {
      const mnt = join(dir, 'tiny-close');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      try {
        server.answer = () => ({ status: 503 });
        const logger = memoryLogger();
        const outbox = await open({ spoolDir: mnt, logger, batchSize: 50, maxMemoryResults: 5000 });
        opened.splice(opened.indexOf(outbox), 1);
        // ~330 bytes a line: 64 KiB holds ~190 results, memory the rest.
        for (let i = 0; i < 1000; i++) {
          outbox.push(result('d', i));
          if (i % 50 === 49) await new Promise((r) => setImmediate(r));
        }
        await until('ENOSPC logged', () => logger.lines.some((l) => /ENOSPC/.test(l.msg)));
        const stats = await outbox.close(200);
        expect(logger.lines.some((l) => /could not be written to the spool before exit/.test(l.msg))).toBe(
          true,
        );
        expect(stats.dropped).toBeGreaterThan(0);
        // Pending is exactly what the next start replays; every result is delivered, pending or dropped.
        expect(stats.pending).toBe((await spoolLines(mnt)).length);
        expect(stats.delivered + stats.pending + stats.dropped).toBe(1000);
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );

  it.skipIf(process.getuid?.() !== 0)(
    'on a full disk (tmpfs ENOSPC): logs once, counts drops, push never blocks, recovers when space frees',
    async () => {
      const mnt = join(dir, 'tiny');
      await import('node:fs/promises').then((fs) => fs.mkdir(mnt));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      try {
        server.answer = () => ({ status: 503 });
        const metrics = createAgentMetrics();
        const logger = memoryLogger();
        const outbox = await open({
          spoolDir: mnt,
          metrics,
          logger,
          batchSize: 50,
          maxMemoryResults: 300,
          backoff: { baseMs: 20, capMs: 40 },
        });
        // ~330 bytes a line: 64 KiB holds ~190 results; push 1,000 in bursts, as probes would.
        for (let i = 0; i < 1000; i++) {
          const t = performance.now();
          outbox.push(result('d', i));
          expect(performance.now() - t).toBeLessThan(50);
          if (i % 50 === 49) await new Promise((r) => setImmediate(r));
        }
        await until('ENOSPC logged', () =>
          logger.lines.some((l) => l.level === 'error' && /ENOSPC/.test(l.msg)),
        );
        await until(
          'drops counted',
          async () => (await metricValue(metrics.dropped, { reason: 'memory_full' })) > 0,
        );
        expect(logger.lines.filter((l) => /cannot write the spool/.test(l.msg))).toHaveLength(1);
        const dropped = outbox.stats().dropped;
        // The control plane comes back: the spool drains, memory moves to disk, then everything left is sent.
        server.answer = () => ({ status: 200 });
        await until('all delivered', () => outbox.stats().pending === 0, 20_000);
        expect(outbox.stats().delivered + outbox.stats().dropped).toBe(1000);
        expect(new Set(server.stored.map((r) => r.rseq)).size).toBe(outbox.stats().delivered);
        expect(outbox.stats().dropped).toBe(dropped);
        expect(logger.lines.some((l) => /spool writable again/.test(l.msg))).toBe(true);
        await outbox.close(500);
        opened.splice(opened.indexOf(outbox), 1);
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );
});
