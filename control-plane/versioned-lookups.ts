/**
 * Source and destination reads for the ingest path, kept while the config version stays put. Every change to a
 * source or destination bumps the version in the same commit, so one version read per batch replaces a read per
 * destination (on DynamoDB: one GetItem instead of a dozen per batch).
 */
import type { Destination, Source } from '../contract/index.js';
import type { Store } from './store/store.js';

/** Past this many entries the cache starts over rather than grow without bound. */
const MAX_ENTRIES = 10_000;
/** More destinations unknown than this, and one listing of them all is cheaper than a read of each. */
const LIST_ABOVE = 25;

export class VersionedLookups {
  #version: number | undefined;
  readonly #sources = new Map<string, Source | undefined>();
  readonly #destinations = new Map<string, Destination | undefined>();

  constructor(private readonly store: Store) {}

  /**
   * Reads the version and drops everything cached under another one. Call first in each request: lookups after
   * it are as fresh as that version (a write that lands later bumps the version and is seen by the next call).
   */
  async refresh(): Promise<void> {
    const version = await this.store.configVersion();
    if (version !== this.#version || this.#sources.size + this.#destinations.size > MAX_ENTRIES) {
      this.#version = version;
      this.#sources.clear();
      this.#destinations.clear();
    }
  }

  async source(id: string): Promise<Source | undefined> {
    if (!this.#sources.has(id)) this.#sources.set(id, await this.store.getSource(id));
    return this.#sources.get(id);
  }

  /**
   * Makes the lookups of `ids` free: a batch naming many destinations this cache does not hold yet (a fresh
   * instance, or a new version) reads the list once (one Query on DynamoDB) rather than each (a GetItem each).
   */
  async prefetchDestinations(ids: Iterable<string>): Promise<void> {
    const missing = new Set([...ids].filter((id) => !this.#destinations.has(id)));
    if (
      missing.size <= LIST_ABOVE ||
      missing.size + this.#sources.size + this.#destinations.size > MAX_ENTRIES
    )
      return;
    const listed = new Map((await this.store.listDestinations()).map((d) => [d.id, d]));
    for (const id of missing) this.#destinations.set(id, listed.get(id));
  }

  async destination(id: string): Promise<Destination | undefined> {
    if (!this.#destinations.has(id)) this.#destinations.set(id, await this.store.getDestination(id));
    return this.#destinations.get(id);
  }
}
