/**
 * What `pinger up` makes sure of before it starts the local agent: a source named `local` whose agent token it
 * holds, and — on a control plane with no destinations at all — loopback over IPv4 and IPv6 to probe. All of it
 * through the HTTP API with the admin token, exactly as an operator would do it by hand.
 */
import { request } from 'undici';
import * as v from 'valibot';
import { AgentConfigSchema, type Destination, type Source } from '../../contract/index.js';
import type { ApiClient } from '../client.js';
import { CliError } from '../errors.js';
import { readSecret, writeSecret } from './secret-file.js';

/** Name of the source `pinger up` runs an agent for. */
export const LOCAL_SOURCE = 'local';

/** What a control plane with no destinations gets, probed by the local source every second. */
export const DEFAULT_DESTINATIONS = [
  { address: '127.0.0.1', protocol: 'icmp', interval: 1000 },
  { address: '::1', protocol: 'icmp6', interval: 1000 },
] as const;

export interface LocalSource {
  /** Id of the source, from the control plane. */
  id: string;
  /** Its agent token. */
  token: string;
  /** How the token was obtained: read from the token file, or issued now (new source or rotated token). */
  origin: 'file' | 'created' | 'rotated';
}

/**
 * The source this agent token belongs to, asked of the control plane (`GET /v1/agent/config`, which answers at
 * once without If-None-Match); undefined when the control plane refuses the token.
 */
export async function tokenSource(url: string, token: string): Promise<string | undefined> {
  const res = await request(`${url}/v1/agent/config`, {
    headers: { authorization: `Bearer ${token}` },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  if (res.statusCode === 401) {
    await res.body.dump();
    return undefined;
  }
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    throw new CliError(
      `[up] the control plane answered ${res.statusCode} to the local agent token: ${text}`,
      1,
    );
  }
  return v.parse(AgentConfigSchema, await res.body.json()).source.id;
}

/**
 * Finds or creates the `local` source and makes sure `tokenFile` holds a working agent token for it: a token
 * that was lost or no longer works is replaced (rotation), since the control plane never shows one twice.
 */
export async function ensureLocalSource(api: ApiClient, tokenFile: string): Promise<LocalSource> {
  const existing = (await api.listSources()).find((s: Source) => s.name === LOCAL_SOURCE);
  if (!existing) {
    const created = await api.createSource({ name: LOCAL_SOURCE, labels: { role: 'pinger-up' } });
    await writeSecret(tokenFile, created.token);
    return { id: created.id, token: created.token, origin: 'created' };
  }
  const saved = await readSecret(tokenFile);
  if (saved !== undefined && (await tokenSource(api.url, saved)) === existing.id) {
    return { id: existing.id, token: saved, origin: 'file' };
  }
  const rotated = await api.rotateSourceToken(existing.id);
  await writeSecret(tokenFile, rotated.token);
  return { id: existing.id, token: rotated.token, origin: 'rotated' };
}

/** Adds {@link DEFAULT_DESTINATIONS} for `sourceId` when the control plane has no destination at all. */
export async function seedDestinations(api: ApiClient, sourceId: string): Promise<Destination[]> {
  if ((await api.listDestinations()).length > 0) return [];
  const added: Destination[] = [];
  for (const d of DEFAULT_DESTINATIONS) {
    added.push(await api.createDestination({ ...d, sources: [sourceId], labels: { role: 'pinger-up' } }));
  }
  return added;
}
