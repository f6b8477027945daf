/**
 * What one agent gets from `GET /v1/agent/config`, and its version: a hash of the content, so the ETag changes
 * exactly when something this source would act on changes (not when another source's destination does).
 */
import type { AgentConfig } from '../contract/index.js';
import { splitSlices } from './census/split-config.js';
import type { SplitRule } from './census/split-members.js';
import type { Store } from './store/store.js';

/**
 * The agent's config, or undefined when its source no longer exists. With `split`, its slices of split censuses
 * too (census/split-config.ts): the version then also changes when the sources alive to share them do.
 */
export async function buildAgentConfig(
  store: Store,
  sourceId: string,
  split?: { now: Date; silentAfterMs: number; rule?: SplitRule },
): Promise<AgentConfig | undefined> {
  const [source, destinations] = await Promise.all([
    store.getSource(sourceId),
    store.listDestinations({ source: sourceId, active: true }),
  ]);
  if (!source) return undefined;
  const body: Omit<AgentConfig, 'version'> = {
    source: {
      id: source.id,
      name: source.name,
      sourceid: source.sourceid,
      location: source.location,
      host: source.host,
    },
    destinations,
  };
  const censusSlices =
    split &&
    (await splitSlices(
      sourceId,
      destinations,
      { sources: () => store.listSources(), passes: (d, limit) => store.census.listPasses(d, limit) },
      split,
    ));
  if (censusSlices) body.censusSlices = censusSlices;
  return { version: await contentVersion(body), ...body };
}

/** First 128 bits of SHA-256 over the JSON, in hex. */
async function contentVersion(body: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(body)));
  return Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The version(s) an `If-None-Match` header names, without quotes or the weak marker. */
export function parseIfNoneMatch(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1'),
    )
    .filter((tag) => tag !== '');
}
