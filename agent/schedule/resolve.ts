/**
 * Host names to addresses, per family (A for v4 protocols, AAAA for v6), re-resolved when the DNS TTL says so.
 * Names the DNS does not know (from /etc/hosts, like `localhost`) fall back to the system resolver and are
 * cached for {@link FALLBACK_TTL_S}. IP literals pass through untouched.
 *
 * A failure is remembered for {@link RETRY_S}: a name that stopped resolving keeps its last address, and one that
 * never resolved fails at once, until the next try. Without that, every probe of every such name during a DNS
 * outage would start a lookup; the system resolver's lookups run on libuv's small thread pool, which the spool's
 * file writes share, so an outage would stall delivery too.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/** How long a name from the system resolver (no TTL known) is trusted. */
export const FALLBACK_TTL_S = 60;
/** A floor on DNS TTLs, so that a TTL of 0 does not mean a query per probe. */
const MIN_TTL_S = 5;
/** How long a failed resolution stands before the name is tried again. */
export const RETRY_S = 5;

/** A name that does not resolve in the family asked for. */
export class ResolveError extends Error {
  override name = 'ResolveError';
}

/** A resolved address, or the error of the last try when the name has none yet. */
type Entry = { address: string; expires: number } | { error: ResolveError; expires: number };

/** The resolver functions used (node:dns by default; injectable for tests). */
export interface DnsFunctions {
  resolve4(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  resolve6(name: string, options: { ttl: true }): Promise<{ address: string; ttl: number }[]>;
  lookup(name: string, options: { family: 4 | 6 }): Promise<{ address: string }>;
}

/** Caches resolved names; one per agent or CLI run. `now` and `dns` are injectable for tests. */
export class Resolver {
  readonly #cache = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #now: () => number;
  readonly #dns: DnsFunctions;

  constructor(options: { now?: () => number; dns?: DnsFunctions } = {}) {
    this.#now = options.now ?? Date.now;
    this.#dns = options.dns ?? dns;
  }

  /**
   * The address to probe for `name` in `family` when it is known without waiting: `name` itself when it is an IP
   * literal of that family, else the cached address while its TTL lasts. Undefined when only {@link resolve} can
   * tell (a name not yet resolved, or due again; a failure; a literal of the other family). The agent's per-probe
   * path: no promise for the common case.
   */
  cached(name: string, family: 4 | 6): string | undefined {
    const literal = isIP(name);
    if (literal !== 0) return literal === family ? name : undefined;
    const hit = this.#cache.get(`${family}/${name.toLowerCase()}`);
    return hit !== undefined && 'address' in hit && hit.expires > this.#now() ? hit.address : undefined;
  }

  /** The address to probe for `name` in `family`: from cache while its TTL lasts, else resolved afresh. */
  resolve(name: string, family: 4 | 6): Promise<string> {
    const literal = isIP(name);
    if (literal !== 0) {
      if (literal !== family) {
        return Promise.reject(new ResolveError(`[resolve] ${name} is not an IPv${family} address`));
      }
      return Promise.resolve(name);
    }
    const key = `${family}/${name.toLowerCase()}`;
    const hit = this.#cache.get(key);
    if (hit && hit.expires > this.#now()) {
      return 'address' in hit ? Promise.resolve(hit.address) : Promise.reject(hit.error);
    }
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#lookup(name, family).then(
        ({ address, ttl }) => {
          this.#cache.set(key, { address, expires: this.#now() + ttl * 1000 });
          this.#inflight.delete(key);
          return address;
        },
        (err: ResolveError) => {
          this.#inflight.delete(key);
          const expires = this.#now() + RETRY_S * 1000;
          // A failed re-resolution keeps probing the last known address rather than stopping.
          if (hit && 'address' in hit) {
            this.#cache.set(key, { address: hit.address, expires });
            return hit.address;
          }
          this.#cache.set(key, { error: err, expires });
          throw err;
        },
      );
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #lookup(name: string, family: 4 | 6): Promise<{ address: string; ttl: number }> {
    try {
      const records =
        family === 4
          ? await this.#dns.resolve4(name, { ttl: true })
          : await this.#dns.resolve6(name, { ttl: true });
      const first = records[0];
      if (first) return { address: first.address, ttl: Math.max(MIN_TTL_S, first.ttl) };
    } catch {
      // Not in the DNS (or no DNS at all): the system resolver knows /etc/hosts.
    }
    try {
      const { address } = await this.#dns.lookup(name, { family });
      return { address, ttl: FALLBACK_TTL_S };
    } catch (err) {
      throw new ResolveError(`[resolve] ${name} has no IPv${family} address`, { cause: err });
    }
  }
}
