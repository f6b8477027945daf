/**
 * A census prefix as a grid on a canvas, one cell per address (a /16 is 256×256), coloured by host state.
 * Clicking a cell names its address to `onPick`; from the keyboard, Enter or an arrow on the focused canvas picks
 * the first known host and the arrows then move cell by cell. The drawn states are kept on `window.__pingerCensusMap` for the browser tests, which read
 * them, not pixels.
 */
import { useEffect, useRef } from 'preact/hooks';
import { addressAt, CELL_COLORS, type CellState, type Grid, offsetOf } from '../census-grid.js';

declare global {
  interface Window {
    __pingerCensusMap?: { prefix: string; cols: number; rows: number; states: Record<string, CellState> };
  }
}

/** At most this many CSS pixels a side: a /16 gets 2 px cells, a /24 32 px ones. */
const SIDE = 512;

export function CensusMap(props: {
  grid: Grid;
  states: Record<string, CellState>;
  picked: string | undefined;
  /** Only redraws in the theme's colours. */
  dark: boolean;
  onPick: (address: string) => void;
}) {
  const { grid, states, picked, dark, onPick } = props;
  const ref = useRef<HTMLCanvasElement>(null);
  const cell = Math.max(1, Math.floor(SIDE / grid.cols));

  useEffect(() => {
    const canvas = ref.current!;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = grid.cols * cell * dpr;
    canvas.height = grid.rows * cell * dpr;
    const ctx = canvas.getContext('2d')!;
    ctx.scale(dpr, dpr);
    ctx.fillStyle = getComputedStyle(canvas).getPropertyValue('--cell-none').trim() || '#8884';
    ctx.fillRect(0, 0, grid.cols * cell, grid.rows * cell);
    // A gap between cells only where cells are big enough to keep one.
    const gap = cell >= 6 ? 1 : 0;
    const cells: [number, CellState][] = [];
    for (const [address, state] of Object.entries(states)) {
      const offset = offsetOf(grid, address);
      if (offset !== undefined) cells.push([offset, state]);
    }
    // Cells of 1–3 px vanish when hosts are few: a faint halo first makes each findable, the exact cell on top.
    if (cell < 4) {
      const r = 3 * cell;
      ctx.globalAlpha = 0.35;
      for (const [offset, state] of cells) {
        ctx.fillStyle = CELL_COLORS[state];
        ctx.fillRect(
          (offset % grid.cols) * cell - r,
          Math.floor(offset / grid.cols) * cell - r,
          cell + 2 * r,
          cell + 2 * r,
        );
      }
      ctx.globalAlpha = 1;
    }
    for (const [offset, state] of cells) {
      ctx.fillStyle = CELL_COLORS[state];
      ctx.fillRect(
        (offset % grid.cols) * cell,
        Math.floor(offset / grid.cols) * cell,
        cell - gap,
        cell - gap,
      );
    }
    const at = picked === undefined ? undefined : offsetOf(grid, picked);
    if (at !== undefined) {
      ctx.strokeStyle = getComputedStyle(canvas).getPropertyValue('--fg').trim();
      ctx.lineWidth = 1.5;
      const pad = Math.max(2, cell / 2);
      ctx.strokeRect(
        (at % grid.cols) * cell - pad,
        Math.floor(at / grid.cols) * cell - pad,
        cell + 2 * pad,
        cell + 2 * pad,
      );
    }
    window.__pingerCensusMap = { prefix: grid.prefix.text, cols: grid.cols, rows: grid.rows, states };
    return () => {
      delete window.__pingerCensusMap;
    };
  }, [grid, states, picked, cell, dark]);

  const pick = (e: MouseEvent) => {
    // Measured inside the border: the cells fill the content box.
    const el = ref.current!;
    const box = el.getBoundingClientRect();
    const col = Math.floor(((e.clientX - box.left - el.clientLeft) / el.clientWidth) * grid.cols);
    const row = Math.floor(((e.clientY - box.top - el.clientTop) / el.clientHeight) * grid.rows);
    if (col < 0 || row < 0 || col >= grid.cols || row >= grid.rows) return;
    onPick(addressAt(grid, row * grid.cols + col));
  };
  const known = Object.keys(states).length;
  return (
    <canvas
      ref={ref}
      class="census-map"
      // A width and a ratio, no height: on a narrow screen max-width shrinks it without stretching the cells.
      style={{ width: `${grid.cols * cell}px`, aspectRatio: `${grid.cols} / ${grid.rows}` }}
      role="img"
      aria-label={`map of ${grid.prefix.text}: ${known} known hosts; click a cell for its details`}
      tabIndex={0}
      onClick={pick}
      onKeyDown={(e) => {
        const at = picked === undefined ? undefined : offsetOf(grid, picked);
        if (at === undefined) {
          if (e.key !== 'Enter' && !e.key.startsWith('Arrow')) return;
          const first = Object.keys(states)[0];
          onPick(first ?? addressAt(grid, 0));
        } else {
          const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -grid.cols, ArrowDown: grid.cols }[e.key];
          if (step === undefined) return;
          const next = at + step;
          if (next >= 0 && next < grid.prefix.size) onPick(addressAt(grid, next));
        }
        e.preventDefault();
      }}
    />
  );
}
