/**
 * Parsers for command-line values. They check only the form (a number is a whole number, a label is `k=v`);
 * ranges and the rules between fields are the server's schema's to judge, so the CLI and the API can never
 * disagree about what is valid.
 */
import { InvalidArgumentError } from 'commander';

/** A whole number, written in decimal (`-1` and `0` are allowed: the range is the server's). */
export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number.');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('is too large.');
  return n;
}

/** A whole number of at least 1 (a count the CLI itself uses, such as `--limit`). */
export function parsePositiveInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError('must be at least 1.');
  return n;
}

/** `true` or `false`, for options that set or filter a boolean field. */
export function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError('must be true or false.');
}

/** A comma-separated list of ids (`src_a,src_b`), blanks around commas ignored. */
export function parseIdList(value: string): string[] {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0) throw new InvalidArgumentError('must name at least one id (a,b,…).');
  return ids;
}

/** One `key=value` label, added to those of earlier `--label` options (commander's accumulator form). */
export function collectLabel(
  value: string,
  previous: Record<string, string> | undefined,
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be key=value.');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration in ms: a whole number with a unit (`500ms`, `30s`, `30m`, `2h`, `1d`) or bare milliseconds.
 * Hand-written: five units do not call for a dependency.
 */
export function parseDuration(value: string): number {
  const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a whole number with a unit: ms, s, m, h or d (e.g. 30m).');
  const n = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('is too large.');
  return n;
}
