/**
 * The latest passes of a census, newest first: when, how long, which sources took part and how much of the prefix
 * their slices covered, and the figures. A split pass names its members: one that reported no slice is marked
 * missing, and one whose every probe was an error is marked failed (the control plane leaves such a source out of
 * the next splits, see the README); a pass whose slices do not cover every address is marked incomplete in words,
 * not only in colour. On a phone each pass is a small card of labelled figures, so nothing scrolls sideways.
 */
import type { CensusPassRecord } from '../../../contract/index.js';
import { ago, nsToMs, stamp } from '../format.js';

function duration(msSpan: number): string {
  if (msSpan < 1000) return `${Math.round(msSpan)} ms`;
  const s = Math.round(msSpan / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

type Part = 'ok' | 'missing' | 'failed';

/** Each source of a pass with how its part went, members first in id order (a single-source pass: its source). */
function partsOf(p: CensusPassRecord): { id: string; part: Part; title: string }[] {
  const ids = p.members ?? p.sources;
  const missing = new Set(p.missing ?? []);
  return ids.map((id) => {
    const slice = p.slices?.find((s) => s.source === id);
    if (missing.has(id)) return { id, part: 'missing', title: 'reported no slice of this pass' };
    if (!slice) return { id, part: 'ok', title: `${p.probed} probed, ${p.answered} answered` };
    const failed = slice.probed > 0 && slice.errors === slice.probed;
    return {
      id,
      part: failed ? 'failed' : 'ok',
      title: `addresses ${slice.from}–${slice.to - 1}: ${slice.probed} probed, ${slice.answered} answered, ${slice.errors} errors`,
    };
  });
}

const PART_TEXT: Record<Part, string> = { ok: '', missing: ' (missing)', failed: ' (all errors)' };

/**
 * @param passes newest first, as the API lists them
 * @param names source names by id (ids are shown for sources not in it)
 */
export function PassesTable({ passes, names }: { passes: CensusPassRecord[]; names: Map<string, string> }) {
  return (
    <div class="table-wrap">
      <table class="passes">
        <thead>
          <tr>
            <th scope="col">Start</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col">Sources</th>
            <th scope="col" class="num">
              Covered
            </th>
            <th scope="col" class="num">
              Probed
            </th>
            <th scope="col" class="num">
              Answered
            </th>
            <th scope="col" class="num">
              Skipped
            </th>
          </tr>
        </thead>
        <tbody>
          {passes.map((p) => (
            <tr
              key={`${p.slot ?? p.start}/${p.slot === null ? p.source : ''}`}
              data-start={p.start}
              data-complete={String(p.complete)}
              class={p.complete ? undefined : 'incomplete'}
            >
              <td data-label="Start" title={ago(nsToMs(p.start))}>
                {stamp(nsToMs(p.start))}
              </td>
              <td data-label="Duration" class="num">
                {duration(p.durationMs)}
              </td>
              <td data-label="Sources" data-col="sources">
                <ul class="pass-sources">
                  {partsOf(p).map(({ id, part, title }) => (
                    <li key={id} data-source={id} data-part={part} title={title}>
                      {names.get(id) ?? id}
                      {PART_TEXT[part]}
                    </li>
                  ))}
                </ul>
              </td>
              <td data-label="Covered" class="num" data-col="covered">
                <span
                  title={`${((100 * p.covered) / Math.max(p.addresses, 1)).toFixed(1)} % of the addresses`}
                >
                  {p.covered.toLocaleString('en')} / {p.addresses.toLocaleString('en')}
                </span>
                {!p.complete && <span class="badge incomplete-badge">incomplete</span>}
              </td>
              <td data-label="Probed" class="num">
                {p.probed}
              </td>
              <td data-label="Answered" class="num" data-col="answered">
                {p.answered}
              </td>
              <td data-label="Skipped" class="num">
                {p.skipped}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
