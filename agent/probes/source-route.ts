/**
 * The local address the kernel will send from towards a target, for the pseudo-header of hand-built UDP/TCP
 * checksums on IPv4 raw sockets (which write the IP header but not the transport checksum). Asked of the
 * kernel's routing table synchronously through the addon (route.c: a connect() of a UDP socket, no packet sent),
 * so that a probe never waits for it, and cached for a minute per target so that route changes are picked up.
 *
 * A sweep's probes ask without caching (`keep` false): a census's 65,534 addresses each asked once a pass would
 * fill the cache with entries that outlive the young generation, to be copied and then collected as old garbage.
 */
import { isIPv4 } from 'node:net';
import native from '../native/index.cjs';
import { parseIpv4 } from '../packets/index.js';
import type { PreparedTarget } from './prepared-target.js';

const CACHE_MS = 60_000;
/** Entries at most; past it the cache starts over (targets are the agent's destinations, far fewer). */
const CACHE_MAX = 100_000;

/** No route towards a target. */
export class NoRouteError extends Error {
  constructor(target: string, options: ErrorOptions) {
    super(
      `[probes] no route to ${target}: ${(options.cause as Error | undefined)?.message ?? 'unknown'}`,
      options,
    );
    this.name = 'NoRouteError';
  }
}

/** Looks up and caches source addresses. */
export class SourceRoutes {
  readonly #cache = new Map<string, { src: Uint8Array; expires: number }>();

  /**
   * The source address towards `target` (its canonical text and its 4 or 16 bytes), from the cache or the kernel.
   * `keep` false asks without caching the answer (see the module comment). Throws {@link NoRouteError}.
   */
  source(target: string, bytes: Uint8Array, keep = true): Uint8Array {
    const hit = this.#cache.get(target);
    const now = Date.now();
    if (hit !== undefined && hit.expires > now) return hit.src;
    const src = new Uint8Array(bytes.length);
    try {
      native.sourceFor(bytes, src);
    } catch (cause) {
      throw new NoRouteError(target, { cause });
    }
    if (keep) {
      if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
      this.#cache.set(target, { src, expires: now + CACHE_MS });
    }
    return src;
  }

  /**
   * The addresses of the IPv4 pseudo-header over which UDP and TCP towards `prepared` compute their checksum, or
   * the {@link NoRouteError} that leaves the probe unsendable. `keep` as in {@link source}.
   */
  pseudoHeader(prepared: PreparedTarget, keep: boolean): { src: Uint8Array; dst: Uint8Array } | NoRouteError {
    try {
      return prepared.pseudoFrom(this.source(prepared.canonical, prepared.addressBytes, keep));
    } catch (err) {
      if (err instanceof NoRouteError) return err;
      throw err;
    }
  }

  /** Looks up the IPv4 literals among `targets` ahead of their first probe; one without a route is left out. */
  warm(targets: readonly string[]): void {
    for (const target of targets) {
      if (!isIPv4(target)) continue;
      try {
        this.source(target, parseIpv4(target));
      } catch {
        // Its probes will be refused with the reason.
      }
    }
  }
}
