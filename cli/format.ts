/**
 * Human output of the admin commands: aligned tables, `key: value` details, and the units people read
 * (ISO time with microseconds, RTT in milliseconds). Pure functions from data to text; the commands decide
 * where it goes. `--json` output bypasses this module.
 */

/** One column of a table: a heading, how to render a row's cell, and which side to align it on. */
export interface Column<T> {
  heading: string;
  cell: (row: T) => string;
  /** Numbers read best right-aligned. Default: left. */
  align?: 'left' | 'right';
}

/** Shown in a cell that has no value (a timeout's RTT, a source without an address). */
export const EMPTY = '-';

/**
 * Renders rows as a table with a heading line, columns separated by two spaces, trailing blanks trimmed.
 * Widths count code points, so a label with `µ` or `–` does not shift the columns.
 */
export function table<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.cell(row))));
  const widths = columns.map((c, i) => Math.max(width(c.heading), ...cells.map((r) => width(r[i]!))));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => pad(value, widths[i]!, columns[i]!.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.heading)), ...cells.map(line)].join('\n');
}

/** Renders `key: value` lines with the values aligned, for one resource shown in full. */
export function details(entries: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...entries.map(([k]) => width(k)));
  return entries.map(([k, value]) => `${pad(`${k}:`, keyWidth + 1, 'left')} ${oneLine(value)}`).join('\n');
}

/** Labels as `k=v` pairs in key order, or {@link EMPTY}. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? EMPTY : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

/** A nullable value as text, {@link EMPTY} for null/undefined/empty. */
export function orEmpty(value: string | number | boolean | null | undefined): string {
  return value === null || value === undefined || value === '' ? EMPTY : String(value);
}

/**
 * Nanoseconds since the epoch (a decimal string, as on the wire) as ISO 8601 UTC with microseconds:
 * `2026-11-22T04:35:19.123456Z`. Sub-microsecond digits are truncated, not rounded, so a time never moves
 * into the next second.
 */
export function formatRtime(rtime: string): string {
  const ns = BigInt(rtime);
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // …T04:35:19.123Z
  const micros = (ns / 1000n) % 1000n;
  return `${iso.slice(0, -1)}${micros.toString().padStart(3, '0')}Z`;
}

/**
 * A round-trip time given in microseconds, shown in milliseconds with microsecond precision: `0.041 ms`.
 * Rounded to the nearest µs in integers first, so 1234.5 µs reads 1.235 ms (`(1.2345).toFixed(3)` is 1.234:
 * the binary float sits just below the half).
 */
export function formatRtt(rttMicros: number | null): string {
  if (rttMicros === null) return EMPTY;
  const micros = Math.round(rttMicros);
  return `${Math.floor(micros / 1000)}.${String(micros % 1000).padStart(3, '0')} ms`;
}

function pad(value: string, to: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, to - width(value)));
  return align === 'right' ? fill + value : value + fill;
}

/** Display width in code points (good enough for the ids, numbers and names shown here). */
function width(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

// A name with a newline or tab would break the table's rows; show it escaped instead.
function oneLine(value: string): string {
  return value.replace(/[\n\r\t]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}
