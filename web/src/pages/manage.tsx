/**
 * Destinations: the list with add, edit, pause / resume and delete for an admin token; a read token sees the
 * same list without any of those controls (and the server refuses its writes anyway).
 */
import { useState } from 'preact/hooks';
import type { Destination, Source } from '../../../contract/index.js';
import { DestinationForm } from '../components/destination-form.js';
import { labelText } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session-context.js';

export function ManagePage() {
  const { api, kind } = useSession();
  const admin = kind === 'admin';
  const [editing, setEditing] = useState<Destination | 'new' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const list = useLoad(async () => {
    const [d, s] = await Promise.all([
      api.get<{ destinations: Destination[] }>('/v1/destinations'),
      api.get<{ sources: Source[] }>('/v1/sources'),
    ]);
    return { destinations: d.destinations, sources: s.sources };
  }, [api]);

  const act = async (what: () => Promise<unknown>) => {
    try {
      setError(undefined);
      await what();
    } catch (err) {
      setError((err as Error).message);
    }
    list.reload();
  };

  return (
    <section aria-labelledby="manage-title">
      <div class="page-head">
        <h1 id="manage-title">Destinations</h1>
        {admin && editing === undefined && (
          <button type="button" onClick={() => setEditing('new')}>
            Add destination
          </button>
        )}
      </div>
      {admin && editing !== undefined && list.data && (
        <DestinationForm
          key={editing === 'new' ? 'new' : editing.id}
          destination={editing === 'new' ? undefined : editing}
          sources={list.data.sources}
          onDone={() => {
            setEditing(undefined);
            list.reload();
          }}
        />
      )}
      {(error || list.error) && (
        <p class="error" role="alert">
          {error ?? list.error?.message}
        </p>
      )}
      <div class="table-wrap">
        <table class="manage">
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Protocol</th>
              <th scope="col" class="num">
                Interval
              </th>
              <th scope="col" class="num">
                TTL
              </th>
              <th scope="col">Labels</th>
              <th scope="col">State</th>
              {admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(list.data?.destinations ?? []).map((d) => (
              <tr key={d.id} data-destination={d.id}>
                <td>
                  <a href={href({ page: d.census ? 'census' : 'destination', id: d.id })}>{d.address}</a>
                </td>
                <td>
                  {d.protocol}
                  {d.port !== null ? `:${d.port}` : ''}
                </td>
                <td class="num">{d.interval} ms</td>
                <td class="num">{d.ttl}</td>
                <td>{labelText(d.labels)}</td>
                <td>
                  <span class={`badge ${d.active ? 'up' : 'paused'}`}>{d.active ? 'active' : 'paused'}</span>
                </td>
                {admin && (
                  <td>
                    <div class="row-actions">
                      <button type="button" class="small" onClick={() => setEditing(d)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        class="small"
                        onClick={() =>
                          act(() =>
                            api.send('PATCH', `/v1/destinations/${encodeURIComponent(d.id)}`, {
                              active: !d.active,
                            }),
                          )
                        }
                      >
                        {d.active ? 'Pause' : 'Resume'}
                      </button>
                      <button
                        type="button"
                        class="small danger"
                        onClick={() =>
                          confirm(`Delete ${d.address}? Its results stay.`) &&
                          act(() => api.send('DELETE', `/v1/destinations/${encodeURIComponent(d.id)}`))
                        }
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data?.destinations.length === 0 && <p class="empty">No destinations yet.</p>}
    </section>
  );
}
