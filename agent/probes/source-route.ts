/**
 * The local address the kernel will send from towards a target, for the pseudo-header of hand-built UDP/TCP
 * checksums on IPv4 raw sockets (which write the IP header but not the transport checksum). Asked of the
 * kernel's routing table by connecting a UDP socket (no packet is sent), cached for a minute so that route
 * changes are picked up.
 */

import dgram from 'node:dgram';
import { parseIp } from '../packets/index.js';

const CACHE_MS = 60_000;

/** Looks up and caches source addresses. */
export class SourceRoutes {
  readonly #cache = new Map<string, { src: Uint8Array; expires: number }>();
  readonly #pending = new Map<string, Promise<Uint8Array>>();

  /** The cached source address for `target`, if fresh (the fast path: no promise). */
  cached(target: string): Uint8Array | undefined {
    const hit = this.#cache.get(target);
    return hit && hit.expires > Date.now() ? hit.src : undefined;
  }

  /** The source address for `target`, asking the kernel when not cached (one question at a time per target). */
  lookup(target: string, family: 4 | 6): Promise<Uint8Array> {
    const hit = this.cached(target);
    if (hit) return Promise.resolve(hit);
    let pending = this.#pending.get(target);
    if (!pending) {
      pending = this.#ask(target, family).finally(() => this.#pending.delete(target));
      this.#pending.set(target, pending);
    }
    return pending;
  }

  async #ask(target: string, family: 4 | 6): Promise<Uint8Array> {
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        // Port 9 (discard) is arbitrary: connect() on UDP only picks the route and the source address.
        socket.connect(9, target, () => resolve());
      });
      const src = parseIp(socket.address().address);
      this.#cache.set(target, { src, expires: Date.now() + CACHE_MS });
      return src;
    } finally {
      socket.close();
    }
  }
}
