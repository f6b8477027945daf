/**
 * The outbox's disk spool: append-only segment files of NDJSON (one result per line) under `<dir>/segments/`,
 * plus `<dir>/rejected/` for batches the control plane refused for good.
 *
 * One segment is open for appends at a time; the outbox seals it when it holds a batch's worth (by count or age)
 * and then sends the sealed segment as one POST. A segment is deleted only after the control plane confirmed it,
 * so on restart every file present is a batch not yet confirmed: {@link Spool.open} replays them (server-side
 * idempotency makes a re-send safe).
 *
 * Crash safety: appends are fsynced by the outbox on a short timer; a crash can leave a torn last line, which
 * recovery drops (and logs) so that the rest of the segment still sends. A failed append (ENOSPC) is truncated
 * back to the last whole line so the file never holds half a result.
 */
import { constants } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

/** A sealed segment: a batch on disk waiting for the control plane's confirmation. */
export interface Segment {
  readonly id: number;
  readonly path: string;
  /** Results (lines) in the file. */
  readonly count: number;
  readonly bytes: number;
}

/** An I/O failure of the spool; `code` is the errno code (`ENOSPC`, `EACCES`, …) when there is one. */
export class SpoolError extends Error {
  override name = 'SpoolError';
  readonly code: string | undefined;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
  }
}

export interface SpoolLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SpoolOptions {
  logger?: SpoolLogger;
  /** Bound of `rejected/` in bytes (oldest files deleted beyond it, logged); default 32 MiB. */
  maxRejectedBytes?: number;
}

const DEFAULT_MAX_REJECTED_BYTES = 32 * 1024 * 1024;

interface OpenSegment {
  id: number;
  path: string;
  fh: FileHandle;
  count: number;
  bytes: number;
  /** No append since the last fsync. */
  synced: boolean;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const BODY_HEAD = Buffer.from('{"results":[');
const BODY_TAIL = Buffer.from(']}');
/** What `String.prototype.trimEnd` removes at the end of a segment, in ASCII: space, \t, \n, \v, \f, \r. */
const isTrailingSpace = (byte: number) => byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);

const SEGMENT = /^seg-(\d{12})\.ndjson$/;
const segmentName = (id: number) => `seg-${String(id).padStart(12, '0')}.ndjson`;

export class Spool {
  readonly #segmentsDir: string;
  readonly #rejectedDir: string;
  readonly #sealed: Segment[];
  #open: OpenSegment | undefined;
  /** Segments ended by {@link rotate}, awaiting their fsync before they join the send queue. */
  readonly #rotated: OpenSegment[] = [];
  /** A segment file was created since the directory was last fsynced. */
  #dirDirty = false;
  #nextId: number;
  #sealedBytes: number;
  /** Files in `rejected/`, oldest first, with their sizes: the directory has a byte bound of its own. */
  readonly #rejected: { path: string; bytes: number }[];
  #rejectedBytes: number;
  readonly #maxRejectedBytes: number;
  readonly #log: SpoolLogger | undefined;
  readonly #rejectedDropped = { files: 0, bytes: 0 };

  private constructor(
    readonly dir: string,
    sealed: Segment[],
    rejected: { path: string; bytes: number }[],
    options: SpoolOptions,
    nextId: number,
  ) {
    this.#segmentsDir = join(dir, 'segments');
    this.#rejectedDir = join(dir, 'rejected');
    this.#sealed = sealed;
    this.#nextId = nextId;
    this.#sealedBytes = sealed.reduce((n, s) => n + s.bytes, 0);
    this.#rejected = rejected;
    this.#rejectedBytes = rejected.reduce((n, r) => n + r.bytes, 0);
    this.#maxRejectedBytes = options.maxRejectedBytes ?? DEFAULT_MAX_REJECTED_BYTES;
    this.#log = options.logger;
  }

  /**
   * Opens (creating) the spool in `dir` and recovers the segments a previous run left: each becomes a sealed
   * segment to send, in id order, with any torn line dropped.
   */
  static async open(dir: string, options: SpoolOptions = {}): Promise<Spool> {
    const logger = options.logger;
    const segmentsDir = join(dir, 'segments');
    try {
      await mkdir(segmentsDir, { recursive: true });
      await mkdir(join(dir, 'rejected'), { recursive: true });
    } catch (err) {
      throw new SpoolError(
        `[agent:spool] cannot create the spool directory ${dir}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    const all = await readdir(segmentsDir);
    // A rewrite interrupted by a crash leaves its temp file; the segment it was replacing is still whole.
    for (const n of all) if (n.endsWith('.tmp')) await unlink(join(segmentsDir, n)).catch(() => undefined);
    const names = all.filter((n) => SEGMENT.test(n)).sort();
    const sealed: Segment[] = [];
    let torn = 0;
    for (const name of names) {
      const path = join(segmentsDir, name);
      const id = Number(SEGMENT.exec(name)![1]);
      try {
        const recovered = await recoverSegment(path, join(dir, 'rejected', name), logger);
        torn += recovered.torn;
        if (recovered.count > 0) sealed.push({ id, path, count: recovered.count, bytes: recovered.bytes });
      } catch (err) {
        // One bad file must not keep the agent from starting (and probing): set it aside for an operator.
        const aside = join(dir, 'unreadable', name);
        const moved = await mkdir(join(dir, 'unreadable'), { recursive: true })
          .then(() => rename(path, aside))
          .then(
            () => true,
            () => false,
          );
        logger?.warn(
          { err, path, movedTo: moved ? aside : undefined },
          moved
            ? '[agent:spool] cannot read a segment left by a previous run; moved it to unreadable/'
            : '[agent:spool] cannot read a segment left by a previous run; skipping it',
        );
      }
    }
    if (sealed.length > 0 || torn > 0) {
      logger?.info(
        { dir, segments: sealed.length, results: sealed.reduce((n, s) => n + s.count, 0), tornLines: torn },
        '[agent:spool] replaying segments left by a previous run',
      );
    }
    // Past every id present (skipped ones too), so that a new segment never collides with a file left in place.
    const lastId = names.reduce((n, name) => Math.max(n, Number(SEGMENT.exec(name)![1])), 0);
    const rejected = await listRejected(join(dir, 'rejected'));
    const spool = new Spool(dir, sealed, rejected, options, lastId + 1);
    await spool.#trimRejected();
    return spool;
  }

  /** Files and bytes deleted from `rejected/` to keep it under its bound, since open. */
  get rejectedDropped(): { files: number; bytes: number } {
    return { ...this.#rejectedDropped };
  }

  /** Bytes in `rejected/`. */
  get rejectedBytes(): number {
    return this.#rejectedBytes;
  }

  /** Bytes on disk: sealed, rotated and open segments. */
  get bytes(): number {
    return this.#sealedBytes + (this.#open?.bytes ?? 0) + this.#rotated.reduce((n, s) => n + s.bytes, 0);
  }

  /** Results in the open segment. */
  get openCount(): number {
    return this.#open?.count ?? 0;
  }

  /** Sealed segments, oldest first. The outbox sends the first; the list is live. */
  get sealed(): readonly Segment[] {
    return this.#sealed;
  }

  /** Results waiting on disk (sealed and open). */
  get pendingResults(): number {
    return (
      this.#sealed.reduce((n, s) => n + s.count, 0) +
      this.#rotated.reduce((n, s) => n + s.count, 0) +
      this.openCount
    );
  }

  /**
   * Appends `count` whole lines (`data`: one JSON result per line, each ending in a newline) to the open segment,
   * opening one if needed, in one write. On failure the file is truncated back to its last whole line and a
   * {@link SpoolError} is thrown; nothing was appended.
   */
  async append(data: Buffer, count: number): Promise<void> {
    if (count === 0) return;
    const seg = this.#open ?? (await this.#openSegment());
    let written = 0;
    try {
      while (written < data.length) {
        const { bytesWritten } = await seg.fh.write(
          data,
          written,
          data.length - written,
          seg.bytes + written,
        );
        written += bytesWritten;
      }
    } catch (err) {
      if (written > 0) await seg.fh.truncate(seg.bytes).catch(() => undefined);
      throw new SpoolError(`[agent:spool] cannot append to ${seg.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    seg.bytes += data.length;
    seg.count += count;
    seg.synced = false;
  }

  /**
   * Ends the open segment without waiting for the disk: the next append starts a new one, and the next
   * {@link sync} makes it durable and queues it for sending. Lets one flush fill several segments and fsync them
   * all at once (in parallel) instead of one after another.
   */
  rotate(): void {
    if (this.#open === undefined) return;
    this.#rotated.push(this.#open);
    this.#open = undefined;
  }

  /**
   * Forces the appends to stable storage: the open segment's, and the rotated ones', which are then closed and
   * queued for sending (even when their fsync failed: the lines are written, and leaving them out of the queue
   * would strand them until the next restart; the failure is still thrown). Returns how many were queued.
   */
  async sync(): Promise<number> {
    const rotated = this.#rotated.slice();
    const open = this.#open;
    const failures: { path: string; err: unknown }[] = [];
    const fsync = async (seg: OpenSegment) => {
      if (seg.synced) return;
      try {
        await seg.fh.sync();
        seg.synced = true;
      } catch (err) {
        failures.push({ path: seg.path, err });
      }
    };
    const dirty = this.#dirDirty;
    this.#dirDirty = false;
    // New files' directory entries must be durable too, or a crash could lose a whole fsynced segment.
    await Promise.all([
      ...rotated.map(fsync),
      ...(open ? [fsync(open)] : []),
      dirty ? syncDir(this.#segmentsDir) : undefined,
    ]);
    // Into the send queue in one synchronous step, so that no count ever misses a segment in transit.
    this.#rotated.splice(0, rotated.length);
    let queued = 0;
    for (const seg of rotated) {
      if (seg.count === 0) continue;
      this.#sealed.push({ id: seg.id, path: seg.path, count: seg.count, bytes: seg.bytes });
      this.#sealedBytes += seg.bytes;
      queued++;
    }
    await Promise.all(rotated.map((seg) => seg.fh.close().catch(() => undefined)));
    await Promise.all(
      rotated.filter((seg) => seg.count === 0).map((seg) => unlink(seg.path).catch(() => undefined)),
    );
    const failure = failures[0];
    if (failure !== undefined) {
      throw new SpoolError(`[agent:spool] cannot fsync ${failure.path}: ${(failure.err as Error).message}`, {
        cause: failure.err,
      });
    }
    return queued;
  }

  /** Seals the open segment (fsync, close) so it can be sent. Returns how many segments were queued. */
  async seal(): Promise<number> {
    this.rotate();
    return this.sync();
  }

  /**
   * The segment's lines as the JSON array body of `POST /v1/agent/results`, built on the bytes read: a newline
   * only ever separates two lines (JSON escapes it inside strings), so each becomes a comma in place. The file is
   * read straight into the body's buffer, between its head and tail: no string of the whole batch (V8 would put
   * it in its large-object space, freed only by a full collection), no second copy of it, no stat (the segment's
   * size is known).
   */
  async body(seg: Segment): Promise<Buffer> {
    const at = BODY_HEAD.length;
    const body = Buffer.allocUnsafe(at + seg.bytes + BODY_TAIL.length);
    BODY_HEAD.copy(body, 0);
    // Only the bytes the segment holds: an append that failed and could not truncate back leaves a torn tail.
    let read = 0;
    const fh = await open(seg.path, constants.O_RDONLY);
    try {
      while (read < seg.bytes) {
        const { bytesRead } = await fh.read(body, at + read, seg.bytes - read, read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
    } finally {
      await fh.close();
    }
    let end = at + read;
    while (end > at && isTrailingSpace(body[end - 1]!)) end--;
    for (let i = body.indexOf(NEWLINE, at); i >= 0 && i < end; i = body.indexOf(NEWLINE, i + 1))
      body[i] = COMMA;
    BODY_TAIL.copy(body, end);
    return body.subarray(0, end + BODY_TAIL.length);
  }

  /** Deletes a segment (confirmed by the control plane, or dropped to respect the byte bound). */
  async remove(seg: Segment): Promise<void> {
    this.#forget(seg);
    await unlink(seg.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT')
        throw new SpoolError(`[agent:spool] cannot delete ${seg.path}`, { cause: err });
    });
  }

  /** Moves a segment the control plane refused for good to `rejected/`, kept for an operator to look at. */
  async reject(seg: Segment): Promise<string> {
    const to = this.#rejectedPath(seg);
    await rename(seg.path, to);
    this.#forget(seg);
    await this.#addRejected(to, seg.bytes);
    return to;
  }

  /** The segment's lines (one JSON result each). */
  async lines(seg: Segment): Promise<string[]> {
    return (await readFile(seg.path, 'utf8')).trimEnd().split('\n');
  }

  /**
   * Splits a refused batch: the lines at `bad` (0-based) move to a file in `rejected/`, the others stay queued in
   * place of the segment (rewritten atomically). Returns the rejected file and the remaining segment, if any.
   */
  async split(
    seg: Segment,
    bad: ReadonlySet<number>,
  ): Promise<{ rejectedPath: string; rest: Segment | undefined }> {
    const lines = await this.lines(seg);
    const rejectedPath = this.#rejectedPath(seg);
    const refused = `${lines.filter((_, i) => bad.has(i)).join('\n')}\n`;
    await writeFile(rejectedPath, refused);
    const keep = lines.filter((_, i) => !bad.has(i));
    if (keep.length === 0) {
      await this.remove(seg);
      await this.#addRejected(rejectedPath, Buffer.byteLength(refused));
      return { rejectedPath, rest: undefined };
    }
    const text = `${keep.join('\n')}\n`;
    try {
      await writeFile(`${seg.path}.tmp`, text);
      const fh = await open(`${seg.path}.tmp`, constants.O_RDONLY);
      await fh.sync().finally(() => fh.close());
      await rename(`${seg.path}.tmp`, seg.path);
    } catch (err) {
      // The segment is still whole and queued: undo the rejected copy, so the retry does not leave a second one.
      await unlink(`${seg.path}.tmp`).catch(() => undefined);
      await unlink(rejectedPath).catch(() => undefined);
      throw err;
    }
    const rest: Segment = { id: seg.id, path: seg.path, count: keep.length, bytes: Buffer.byteLength(text) };
    // The index after the awaits: the queue may have changed meanwhile.
    const i = this.#sealed.indexOf(seg);
    if (i >= 0) {
      this.#sealed[i] = rest;
      this.#sealedBytes += rest.bytes - seg.bytes;
    }
    await this.#addRejected(rejectedPath, Buffer.byteLength(refused));
    return { rejectedPath, rest };
  }

  async #addRejected(path: string, bytes: number): Promise<void> {
    this.#rejected.push({ path, bytes });
    this.#rejectedBytes += bytes;
    await this.#trimRejected();
  }

  /** Deletes the oldest files of `rejected/` until it is within its bound: kept for a look, not forever. */
  async #trimRejected(): Promise<void> {
    let files = 0;
    let bytes = 0;
    while (this.#rejectedBytes > this.#maxRejectedBytes && this.#rejected.length > 0) {
      const oldest = this.#rejected.shift()!;
      this.#rejectedBytes -= oldest.bytes;
      await unlink(oldest.path).catch(() => undefined);
      files++;
      bytes += oldest.bytes;
    }
    if (files === 0) return;
    this.#rejectedDropped.files += files;
    this.#rejectedDropped.bytes += bytes;
    this.#log?.warn(
      {
        dir: this.#rejectedDir,
        files,
        bytes,
        maxRejectedBytes: this.#maxRejectedBytes,
        totalFilesDropped: this.#rejectedDropped.files,
      },
      '[agent:spool] rejected/ over its bound; deleted the oldest refused batches',
    );
  }

  /** Seals the open segment; the spool can be reopened later. */
  async close(): Promise<void> {
    await this.seal();
  }

  #rejectedPath(seg: Segment): string {
    return join(this.#rejectedDir, `${segmentName(seg.id).replace('.ndjson', '')}-${Date.now()}.ndjson`);
  }

  /** Takes a segment whose file is already gone off the queue. */
  forget(seg: Segment): void {
    this.#forget(seg);
  }

  #forget(seg: Segment): void {
    const i = this.#sealed.indexOf(seg);
    if (i < 0) return;
    this.#sealed.splice(i, 1);
    this.#sealedBytes -= seg.bytes;
  }

  async #openSegment(): Promise<OpenSegment> {
    const id = this.#nextId++;
    const path = join(this.#segmentsDir, segmentName(id));
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL, 0o600);
    } catch (err) {
      throw new SpoolError(`[agent:spool] cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.#dirDirty = true;
    this.#open = { id, path, fh, count: 0, bytes: 0, synced: true };
    return this.#open;
  }
}

/** The files of `rejected/`, oldest first (by mtime: names restart with the segment ids when the spool empties). */
async function listRejected(dir: string): Promise<{ path: string; bytes: number }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files = await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      const st = await stat(path).catch(() => undefined);
      return st?.isFile() ? { path, bytes: st.size, mtime: st.mtimeMs } : undefined;
    }),
  );
  return files
    .filter((f) => f !== undefined)
    .sort((a, b) => a.mtime - b.mtime)
    .map(({ path, bytes }) => ({ path, bytes }));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY).catch(() => undefined);
  if (fh === undefined) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

/**
 * Recovers one segment left by a previous run: drops torn lines (rewriting the file atomically); a file with
 * lines but none of them JSON is not a torn append but damage, and moves to `rejected/` (logged) rather than
 * being deleted. Returns what is left to send. Throws when the file cannot be read.
 */
async function recoverSegment(
  path: string,
  rejectedPath: string,
  logger: SpoolLogger | undefined,
): Promise<{ count: number; bytes: number; torn: number }> {
  const buf = await readFile(path);
  // Fast path, the usual case: appends are whole lines (a failed one is truncated back), so only a crash can leave
  // damage, and only at the end. A file that ends with a newline and whose first and last lines are results is
  // counted, not parsed: a full 256 MiB spool opens in a fraction of the time, and probing starts sooner.
  // (Damage in the middle would still be caught: the control plane refuses the batch as invalid_json, and it
  // goes to rejected/.)
  if (buf.length > 0 && buf[buf.length - 1] === 0x0a) {
    const firstEnd = buf.indexOf(0x0a);
    const lastStart = buf.lastIndexOf(0x0a, buf.length - 2) + 1;
    if (
      isJsonObject(buf.toString('utf8', 0, firstEnd)) &&
      isJsonObject(buf.toString('utf8', lastStart, buf.length - 1)) &&
      buf.indexOf('\n\n') < 0
    ) {
      let count = 0;
      for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) count++;
      return { count, bytes: buf.length, torn: 0 };
    }
  }
  const text = buf.toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const good = lines.filter(isJsonObject);
  if (good.length === 0) {
    // Nothing, or a single torn append (a crash mid-write of the first lines): nothing to keep.
    if (lines.length === 0 || (lines.length === 1 && !text.endsWith('\n'))) await unlink(path);
    else {
      await rename(path, rejectedPath);
      logger?.warn(
        { path, lines: lines.length, movedTo: rejectedPath },
        '[agent:spool] a segment left by a previous run holds no valid result; moved it to rejected/',
      );
    }
    return { count: 0, bytes: 0, torn: 0 };
  }
  if (good.length !== lines.length || !text.endsWith('\n')) {
    // Rewrite without the torn line(s), atomically.
    const fixed = `${good.join('\n')}\n`;
    await writeFile(`${path}.tmp`, fixed);
    await rename(`${path}.tmp`, path);
  }
  const { size } = await stat(path);
  return { count: good.length, bytes: size, torn: lines.length - good.length };
}

function isJsonObject(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
