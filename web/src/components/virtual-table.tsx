/**
 * A table that renders only the rows in view (plus a few either side), with spacer rows standing in for the
 * rest, so 1,000 or 100,000 rows scroll alike and it stays a real table for screen readers and the keyboard.
 * Hand-written: with fixed-height rows it is these few lines, lighter than a library for it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export function VirtualTable<T>(props: {
  items: readonly T[];
  rowHeight: number;
  head: ComponentChildren;
  /** One keyed `<tr>` of `rowHeight` pixels. */
  row: (item: T, index: number) => ComponentChildren;
  columns: number;
  label: string;
  overscan?: number;
  /** Told the items rendered (in view plus overscan) whenever they change. */
  onRendered?: (items: readonly T[]) => void;
}) {
  const { items, rowHeight, overscan = 8 } = props;
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    el.addEventListener('scroll', measure, { passive: true });
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);
  const first = Math.max(0, Math.floor(view.top / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((view.top + view.height) / rowHeight) + overscan);
  const rendered = items.slice(first, last);
  const onRendered = useRef(props.onRendered);
  onRendered.current = props.onRendered;
  useEffect(() => onRendered.current?.(rendered), [items, first, last]);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) rows.push(props.row(items[i]!, i));
  const spacer = (px: number, key: string) =>
    px > 0 && (
      <tr key={key} class="spacer" style={{ height: `${px}px` }}>
        <td colSpan={props.columns} />
      </tr>
    );
  return (
    <div class="vtable" ref={box}>
      <table aria-label={props.label} aria-rowcount={items.length + 1}>
        <thead>{props.head}</thead>
        <tbody>
          {spacer(first * rowHeight, 'above')}
          {rows}
          {spacer((items.length - last) * rowHeight, 'below')}
        </tbody>
      </table>
    </div>
  );
}
