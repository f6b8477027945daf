/** How figures read on screen: RTTs in ms from µs, loss in %, times from ns strings. */

/** ns since the epoch (decimal string) → ms since the epoch. */
export const nsToMs = (ns: string): number => Number(BigInt(ns) / 1_000_000n);

/** µs → "12.3 ms" (or "—" when there is no figure). */
export function ms(us: number | null | undefined): string {
  if (us === null || us === undefined) return '—';
  const v = us / 1000;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`;
}

/** A 0–1 fraction → "12.5 %". */
export function pct(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined) return '—';
  const p = fraction * 100;
  return `${p === 0 || p >= 10 ? p.toFixed(0) : p.toFixed(1)} %`;
}

/** "3 min ago" for a ms timestamp. */
export function ago(msTime: number | null | undefined, now = Date.now()): string {
  if (msTime === null || msTime === undefined) return 'never';
  const s = Math.round((now - msTime) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** A ms timestamp as local "YYYY-MM-DD HH:MM:SS". */
export function stamp(msTime: number): string {
  const d = new Date(msTime);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Loss classes, SmokePing's idea: the colour says how much was lost. */
export const LOSS_CLASSES = [
  { upTo: 0, name: 'none', color: '#2a9d8f' },
  { upTo: 0.02, name: '≤ 2 %', color: '#3b82f6' },
  { upTo: 0.1, name: '≤ 10 %', color: '#8b5cf6' },
  { upTo: 0.5, name: '≤ 50 %', color: '#f59e0b' },
  { upTo: 1, name: '> 50 %', color: '#e63946' },
] as const;

/** The colour of a loss fraction. */
export function lossColor(loss: number): string {
  return (LOSS_CLASSES.find((c) => loss <= c.upTo) ?? LOSS_CLASSES[LOSS_CLASSES.length - 1]!).color;
}

/** Labels as "k=v, k2=v2". */
export const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
