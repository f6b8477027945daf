/**
 * The outbox's results waiting for the spool, held as the bytes that will be written: one growable buffer of
 * newline-terminated lines, oldest first, and where each line ends.
 *
 * Why not an array of strings: at 10,000 results a second, every result's JSON string stayed on the V8 heap until
 * the next spool write (up to 200 ms), so each young-generation collection found thousands of them alive and
 * copied (or promoted) them; and each write joined them into one ~250 kB string, which V8 allocates in its
 * large-object space, freed only by a full collection. Here a line goes into off-heap memory as it comes: copied
 * from its string, which dies young, or written in place by an encoder, with no string at all.
 */

const NEWLINE = 0x0a;

/**
 * Writes one line's bytes (no newline) for `value` into `bytes` from `at`, using no byte at or past `limit`;
 * returns the offset after its last byte, or -1 when it needed more room than that.
 */
export type LineEncoder<T> = (value: T, bytes: Buffer, at: number, limit: number) => number;

/** Room offered to an encoder at first: a result takes a few hundred bytes. */
const ENCODE_ROOM = 1024;

/** Newline-terminated lines in one buffer; see the module comment. */
export class LineBuffer {
  readonly #initialBytes: number;
  #bytes: Buffer;
  /** End offset (exclusive, after the newline) of each line from `#head` on, in `#bytes`. */
  #ends: number[] = [];
  /** Index in `#ends` of the oldest line still held. */
  #head = 0;
  /** Offset in `#bytes` where the oldest line held starts. */
  #start = 0;
  /** Offset in `#bytes` where the next line goes. */
  #end = 0;

  constructor(initialBytes = 256 * 1024) {
    this.#initialBytes = initialBytes;
    this.#bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Lines held. */
  get length(): number {
    return this.#ends.length - this.#head;
  }

  /** Appends `line` (which must not contain a newline) and its newline. */
  push(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#reserve(line.length * 3 + 1);
    const written = this.#bytes.write(line, this.#end, 'utf8');
    this.#bytes[this.#end + written] = NEWLINE;
    this.#end += written + 1;
    this.#ends.push(this.#end);
  }

  /**
   * Appends the line `encode` writes for `value` straight into the buffer, and its newline: no string of it is
   * made. An encoder that runs out of room is called again with more (at least twice as much).
   */
  pushEncoded<T>(value: T, encode: LineEncoder<T>): void {
    let room = ENCODE_ROOM;
    for (;;) {
      this.#reserve(room + 1);
      // All the room there is, up to one byte for the newline.
      const limit = this.#bytes.length - 1;
      const end = encode(value, this.#bytes, this.#end, limit);
      if (end >= 0) {
        this.#bytes[end] = NEWLINE;
        this.#end = end + 1;
        this.#ends.push(this.#end);
        return;
      }
      room = 2 * (limit - this.#end);
    }
  }

  /** A copy of the oldest `count` lines (each with its newline), to write while more lines arrive. */
  take(count: number): Buffer {
    const n = Math.min(count, this.length);
    if (n <= 0) return Buffer.alloc(0);
    const to = this.#ends[this.#head + n - 1]!;
    return Buffer.from(this.#bytes.subarray(this.#start, to));
  }

  /** Forgets the oldest `count` lines. */
  drop(count: number): void {
    const n = Math.min(count, this.length);
    if (n <= 0) return;
    this.#head += n;
    if (this.length === 0) {
      this.clear();
      return;
    }
    this.#start = this.#ends[this.#head - 1]!;
    // Cut the list of ends once most of it is behind: amortised O(1) per line.
    if (this.#head > 1024 && this.#head * 2 > this.#ends.length) {
      this.#ends = this.#ends.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every line (and gives back what a backlog grew the buffer to). */
  clear(): void {
    if (this.#bytes.length > 4 * this.#initialBytes) this.#bytes = Buffer.allocUnsafe(this.#initialBytes);
    this.#ends = [];
    this.#head = 0;
    this.#start = 0;
    this.#end = 0;
  }

  /** Makes room for `bytes` more after `#end`: first by moving the lines held to the front, then by growing. */
  #reserve(bytes: number): void {
    if (this.#end + bytes <= this.#bytes.length) return;
    const held = this.#end - this.#start;
    if (this.#start > 0) {
      // Lines dropped from the front: slide the rest down and rebase their ends.
      this.#bytes.copy(this.#bytes, 0, this.#start, this.#end);
      const shift = this.#start;
      const ends = this.#ends.slice(this.#head);
      for (let i = 0; i < ends.length; i++) ends[i] = ends[i]! - shift;
      this.#ends = ends;
      this.#head = 0;
      this.#start = 0;
      this.#end = held;
      if (held + bytes <= this.#bytes.length) return;
    }
    const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, held + bytes));
    this.#bytes.copy(grown, 0, 0, held);
    this.#bytes = grown;
  }
}
