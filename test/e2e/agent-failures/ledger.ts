/**
 * Reading back what the control plane stored and checking it against what the agent sent: identities that must
 * not repeat, and per destination a run of sequence numbers that must have no gap and no repeat.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient } from '../../../cli/client.js';
import type { Result } from '../../../contract/index.js';

/** The identity the store deduplicates on. */
export const identity = (r: { destination: string; rtime: string; rseq: number }): string =>
  `${r.destination}|${r.rtime}|${r.rseq}`;

/** Every result stored for `source`, following cursors in pages of 10,000. */
export async function storedResults(api: ApiClient, source: string): Promise<Result[]> {
  const all: Result[] = [];
  for await (const page of api.results({ source }, Number.MAX_SAFE_INTEGER, 10_000)) all.push(...page);
  return all;
}

/** What is wrong with one destination's sequence numbers, if anything. */
export interface SeqRun {
  destination: string;
  count: number;
  first: number;
  last: number;
  /** Seqs missing between first and last. */
  gaps: number[];
  /** Seqs stored more than once. */
  repeats: number[];
}

/** Per destination: count, range, gaps and repeats of the stored seqs (no 16-bit wrap within a test). */
export function seqRuns(results: readonly Pick<Result, 'destination' | 'rseq'>[]): Map<string, SeqRun> {
  const byDest = new Map<string, number[]>();
  for (const r of results) {
    const seqs = byDest.get(r.destination);
    if (seqs) seqs.push(r.rseq);
    else byDest.set(r.destination, [r.rseq]);
  }
  const runs = new Map<string, SeqRun>();
  for (const [destination, seqs] of byDest) {
    seqs.sort((a, b) => a - b);
    const gaps: number[] = [];
    const repeats: number[] = [];
    for (let i = 1; i < seqs.length; i++) {
      const d = seqs[i]! - seqs[i - 1]!;
      if (d === 0) repeats.push(seqs[i]!);
      for (let s = seqs[i - 1]! + 1; s < seqs[i]!; s++) gaps.push(s);
    }
    runs.set(destination, {
      destination,
      count: seqs.length,
      first: seqs[0]!,
      last: seqs.at(-1)!,
      gaps: gaps.slice(0, 20),
      repeats: repeats.slice(0, 20),
    });
  }
  return runs;
}

/** Identities stored more than once in `results` (the store must make this empty). */
export function repeatedIdentities(results: readonly Result[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const r of results) {
    const id = identity(r);
    if (seen.has(id)) repeated.push(id);
    seen.add(id);
  }
  return repeated;
}

/**
 * What reached the spool: every whole result line in the spool's segment files right now. A SIGKILLed process
 * loses nothing it had written (the page cache survives it), so after a kill this is exactly what the agent had
 * put in the spool; a torn last line (killed mid-write) is not a result and the spool drops it on recovery too.
 */
export async function spooledResults(
  spoolDir: string,
): Promise<{ files: number; results: { destination: string; rtime: string; rseq: number }[] }> {
  const dir = join(spoolDir, 'segments');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.ndjson'));
  const results: { destination: string; rtime: string; rseq: number }[] = [];
  for (const name of names) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      try {
        const r = JSON.parse(line) as { destination: string; rtime: string; rseq: number };
        if (typeof r === 'object' && r !== null && typeof r.destination === 'string') results.push(r);
      } catch {
        // A torn line: not a result.
      }
    }
  }
  return { files: names.length, results };
}
