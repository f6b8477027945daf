/**
 * The census map's pure parts: where an address sits in the grid of its prefix (a /16 is 256×256, one cell per
 * address; a longer prefix a proportionate square or 2:1 grid), and what state each known host is drawn in.
 */
import type { CensusEvent, CensusHost, Prefix } from '../../contract/index.js';
import { ipv6Groups, parsePrefix, uintToIpv4 } from '../../contract/index.js';

/** What a cell shows: a host's state, or `none` for an address that never answered. */
export type CellState = 'up' | 'down' | 'new' | 'gone';

/** The map's colours, in legend order (fixed: the same in both themes, picked to read on either background). */
export const CELL_COLORS: Record<CellState, string> = {
  up: '#2a9d8f',
  new: '#3b82f6',
  down: '#f59e0b',
  gone: '#e63946',
};

export interface Grid {
  prefix: Prefix;
  cols: number;
  rows: number;
}

/** The grid of a prefix (`network/bits`), or undefined when the text is not a census prefix. */
export function gridOf(text: string): Grid | undefined {
  const parsed = parsePrefix(text);
  if (!('prefix' in parsed)) return undefined;
  const hostBits = Math.log2(parsed.prefix.size);
  const cols = 2 ** Math.ceil(hostBits / 2);
  return { prefix: parsed.prefix, cols, rows: parsed.prefix.size / cols };
}

/** The offset of `address` inside the grid's prefix, or undefined when it lies outside. */
export function offsetOf(grid: Grid, address: string): number | undefined {
  const { prefix } = grid;
  let offset: number;
  if (prefix.family === 4) {
    const parts = address.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p))) return undefined;
    const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
    offset = n - prefix.base;
  } else {
    if (!address.includes(':')) return undefined;
    const groups = ipv6Groups(address);
    if (groups.slice(0, 7).some((g, i) => g !== prefix.high[i])) return undefined;
    offset = groups[7]! - prefix.base;
  }
  return offset >= 0 && offset < prefix.size ? offset : undefined;
}

/** The address at `offset` of the grid's prefix (IPv6 written uncompressed). */
export function addressAt(grid: Grid, offset: number): string {
  const { prefix } = grid;
  if (prefix.family === 4) return uintToIpv4(prefix.base + offset);
  return [...prefix.high, prefix.base + offset].map((g) => g.toString(16)).join(':');
}

/**
 * Each known host's state: `gone` when its latest event says so (or, past the events listed, it missed
 * `goneAfter` passes in a row), `new` when the API lists it as first seen in the latest pass, else up or down.
 */
export function hostStates(
  hosts: readonly CensusHost[],
  fresh: readonly CensusHost[],
  events: readonly CensusEvent[],
  goneAfter: number,
): Record<string, CellState> {
  const latest = new Map<string, CensusEvent['kind']>();
  // Events come newest first: the first seen per address is its latest.
  for (const e of events) if (!latest.has(e.address)) latest.set(e.address, e.kind);
  const isNew = new Set(fresh.map((h) => h.address));
  const states: Record<string, CellState> = {};
  for (const h of hosts) {
    const event = latest.get(h.address);
    const gone = h.state === 'down' && (event === 'gone' || (event === undefined && h.missed >= goneAfter));
    states[h.address] = gone ? 'gone' : h.state === 'up' && isNew.has(h.address) ? 'new' : h.state;
  }
  return states;
}
