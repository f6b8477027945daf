/**
 * Add or edit a destination. The form checks nothing itself (the server's rules are the rules): it sends what
 * was typed and puts each issue of a 400 beside the field its path names; the server stores nothing then.
 */
import { useState } from 'preact/hooks';
import type { Destination, Source } from '../../../contract/index.js';
import { ApiError } from '../api.js';
import { labelText } from '../format.js';
import { useSession } from '../session-context.js';

const PROTOCOLS = ['icmp', 'icmp6', 'udp', 'udp6', 'tcp', 'tcp6'];

interface Draft {
  address: string;
  protocol: string;
  port: string;
  interval: string;
  timeout: string;
  ttl: string;
  data: string;
  labels: string;
  /** Probes a second of a census (a prefix address); empty leaves the server's choice. */
  rate: string;
  sources: string[];
  active: boolean;
}

/**
 * The form's fields. A new destination starts with the numbers empty: the server then picks its defaults, which
 * depend on the address (a prefix is swept every 30 minutes, not every second).
 */
const draftOf = (d: Destination | undefined): Draft => ({
  address: d?.address ?? '',
  protocol: d?.protocol ?? 'icmp',
  port: d?.port === null || d?.port === undefined ? '' : String(d.port),
  interval: d ? String(d.interval) : '',
  timeout: d ? String(d.timeout) : '',
  ttl: d ? String(d.ttl) : '',
  data: d?.data ?? '',
  labels: d ? labelText(d.labels) : '',
  rate: d?.census ? String(d.census.rate) : '',
  sources: d?.sources ?? [],
  active: d?.active ?? true,
});

/** A number field as typed: a number when it reads as one, else the text itself (the server names the rule). */
const num = (s: string): number | string => (Number.isFinite(Number(s)) ? Number(s) : s);

/** `{key: value}` when the field was filled in, nothing when it was left empty (the server's default then). */
const filled = (key: string, s: string) => (s.trim() === '' ? {} : { [key]: num(s.trim()) });

/** "k=v, k2=v2" → labels; a piece without "=" is returned as an error for the labels field. */
function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const piece of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = piece.indexOf('=');
    if (eq < 1) return `write labels as key=value, separated by commas ("${piece}")`;
    out[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  return out;
}

export function DestinationForm(props: {
  destination?: Destination | undefined;
  sources: Source[];
  onDone: (saved: Destination | undefined) => void;
}) {
  const { api } = useSession();
  const [draft, setDraft] = useState(() => draftOf(props.destination));
  const [issues, setIssues] = useState<Record<string, string[]>>({});
  const [general, setGeneral] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const editing = props.destination !== undefined;
  const idp = editing ? `edit-${props.destination!.id}` : 'new';

  const submit = async (e: Event) => {
    e.preventDefault();
    const labels = parseLabels(draft.labels);
    if (typeof labels === 'string') {
      setIssues({ labels: [labels] });
      return;
    }
    const body = {
      address: draft.address.trim(),
      protocol: draft.protocol,
      port: draft.port.trim() === '' ? null : num(draft.port.trim()),
      ...filled('interval', draft.interval),
      ...filled('timeout', draft.timeout),
      ...filled('ttl', draft.ttl),
      ...(draft.rate.trim() === ''
        ? {}
        : { census: { ...props.destination?.census, rate: num(draft.rate.trim()) } }),
      data: draft.data,
      labels,
      sources: draft.sources,
      active: draft.active,
    };
    setBusy(true);
    try {
      const saved = editing
        ? await api.send<Destination>(
            'PATCH',
            `/v1/destinations/${encodeURIComponent(props.destination!.id)}`,
            body,
          )
        : await api.send<Destination>('POST', '/v1/destinations', body);
      props.onDone(saved);
    } catch (err) {
      const byField: Record<string, string[]> = {};
      if (err instanceof ApiError && err.issues.length > 0) {
        for (const i of err.issues) {
          // The census settings' issues (census.rate, census) go beside the one census field.
          const first = i.path.split('.')[0] ?? '';
          const name = first === 'census' ? 'rate' : first;
          byField[name] = [...(byField[name] ?? []), i.message];
        }
      }
      setIssues(byField);
      setGeneral(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (name: keyof Draft, label: string, input: preact.JSX.Element, hint?: string) => {
    const errs = issues[name];
    const errId = `${idp}-${name}-error`;
    return (
      <div class={`field ${errs ? 'invalid' : ''}`} data-field={name}>
        <label for={`${idp}-${name}`}>{label}</label>
        {input}
        {errs ? (
          <p class="field-error" id={errId} role="alert">
            {errs.join('; ')}
          </p>
        ) : (
          hint && <p class="help">{hint}</p>
        )}
      </div>
    );
  };
  const text = (name: Exclude<keyof Draft, 'sources' | 'active'>, extra: object = {}) => (
    <input
      id={`${idp}-${name}`}
      name={name}
      value={draft[name]}
      onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
      aria-invalid={issues[name] ? true : undefined}
      aria-describedby={issues[name] ? `${idp}-${name}-error` : undefined}
      {...extra}
    />
  );

  return (
    <form
      class="dest-form"
      onSubmit={submit}
      noValidate
      aria-label={editing ? 'Edit destination' : 'Add destination'}
    >
      <h2>{editing ? `Edit ${props.destination!.address}` : 'Add a destination'}</h2>
      {general && Object.keys(issues).length === 0 && (
        <p class="error" role="alert">
          {general}
        </p>
      )}
      <div class="grid">
        {field(
          'address',
          'Address',
          text('address', { placeholder: 'host name, IPv4 or IPv6', autocomplete: 'off' }),
        )}
        {field(
          'protocol',
          'Protocol',
          <select
            id={`${idp}-protocol`}
            name="protocol"
            value={draft.protocol}
            onChange={(e) => setDraft({ ...draft, protocol: e.currentTarget.value })}
          >
            {PROTOCOLS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>,
        )}
        {field('port', 'Port', text('port', { inputMode: 'numeric' }), 'udp and tcp only')}
        {field(
          'interval',
          'Interval (ms)',
          text('interval', { inputMode: 'numeric', placeholder: 'server default' }),
        )}
        {field(
          'timeout',
          'Timeout (ms)',
          text('timeout', { inputMode: 'numeric', placeholder: 'server default' }),
        )}
        {field(
          'ttl',
          'TTL / hop limit',
          text('ttl', { inputMode: 'numeric', placeholder: 'server default' }),
        )}
        {field('data', 'Payload text', text('data'))}
        {field('labels', 'Labels', text('labels', { placeholder: 'site=ams, tier=core' }))}
        {field(
          'rate',
          'Census rate (probes/s)',
          text('rate', { inputMode: 'numeric', placeholder: 'server default' }),
          'for a prefix address (a census sweep)',
        )}
      </div>
      <fieldset class={`field ${issues.sources ? 'invalid' : ''}`} data-field="sources">
        <legend>Probed from (none ticked: every source)</legend>
        {props.sources.map((s) => (
          <label key={s.id} class="check">
            <input
              type="checkbox"
              checked={draft.sources.includes(s.id)}
              onChange={(e) =>
                setDraft({
                  ...draft,
                  sources: e.currentTarget.checked
                    ? [...draft.sources, s.id]
                    : draft.sources.filter((x) => x !== s.id),
                })
              }
            />{' '}
            {s.name}
          </label>
        ))}
        {issues.sources && <p class="field-error">{issues.sources.join('; ')}</p>}
      </fieldset>
      <label class="check">
        <input
          type="checkbox"
          name="active"
          checked={draft.active}
          onChange={(e) => setDraft({ ...draft, active: e.currentTarget.checked })}
        />{' '}
        Active (probed)
      </label>
      <div class="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : editing ? 'Save' : 'Add'}
        </button>
        <button type="button" class="ghost" onClick={() => props.onDone(undefined)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
