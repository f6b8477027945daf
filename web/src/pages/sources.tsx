/**
 * Sources: the hosts running an agent, when each was last heard from, and (admin) rotating an agent's token —
 * the new token is shown once, here, and the old one stops working at once.
 */
import { useState } from 'preact/hooks';
import type { Source, SourceWithToken } from '../../../contract/index.js';
import { ago, labelText } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session-context.js';

export function SourcesPage() {
  const { api, kind } = useSession();
  const admin = kind === 'admin';
  const [shown, setShown] = useState<SourceWithToken | undefined>();
  const [error, setError] = useState<string | undefined>();
  const list = useLoad(() => api.get<{ sources: Source[] }>('/v1/sources'), [api], 30_000);

  const rotate = async (s: Source) => {
    if (
      !confirm(
        `Rotate the agent token of ${s.name}? Its agent stops being accepted until it has the new one.`,
      )
    )
      return;
    try {
      setError(undefined);
      setShown(await api.send<SourceWithToken>('POST', `/v1/sources/${encodeURIComponent(s.id)}/token`));
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section aria-labelledby="sources-title">
      <div class="page-head">
        <h1 id="sources-title">Sources</h1>
      </div>
      {shown && (
        <div class="notice" role="status">
          <p>
            New agent token of <strong>{shown.name}</strong> — shown this once; put it in the agent's config:
          </p>
          <input
            class="token"
            readOnly
            value={shown.token}
            aria-label="new agent token"
            onFocus={(e) => e.currentTarget.select()}
          />
          <button type="button" class="ghost" onClick={() => setShown(undefined)}>
            Done
          </button>
        </div>
      )}
      {(error || list.error) && (
        <p class="error" role="alert">
          {error ?? list.error?.message}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="num">
                sourceid
              </th>
              <th scope="col" class="num">
                Site / host
              </th>
              <th scope="col">Address</th>
              <th scope="col">Labels</th>
              <th scope="col">Last seen</th>
              {admin && <th scope="col">Agent token</th>}
            </tr>
          </thead>
          <tbody>
            {(list.data?.sources ?? []).map((s) => (
              <tr key={s.id} data-source={s.id}>
                <td>{s.name}</td>
                <td class="num">{s.sourceid}</td>
                <td class="num">
                  {s.location} / {s.host}
                </td>
                <td>{s.address ?? '—'}</td>
                <td>{labelText(s.labels)}</td>
                <td title={s.lastSeen ?? undefined}>{ago(s.lastSeen ? Date.parse(s.lastSeen) : null)}</td>
                {admin && (
                  <td>
                    <button type="button" class="small" onClick={() => rotate(s)}>
                      Rotate
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data?.sources.length === 0 && <p class="empty">No sources yet: `pinger source add` makes one.</p>}
    </section>
  );
}
