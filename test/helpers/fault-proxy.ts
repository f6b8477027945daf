/**
 * A fault-injecting HTTP proxy for tests: sits between an agent and the control plane, forwards every request,
 * and — as the test decides — answers 500 instead of forwarding, forwards and then answers 500 (the control plane
 * stored the batch, the agent does not know), stalls before or after forwarding, holds an answer until the client
 * gives up, or refuses everything like a control plane that is down.
 *
 * Randomness comes from a seeded PRNG (mulberry32) so that a failing run can be replayed with the same seed. The
 * proxy also reads every result receipt the control plane sends back (`{ stored, duplicates }`), so a test can
 * check that each result was stored exactly once and that re-sends showed up as `duplicates`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { mulberry32 } from './prng.js';

/** Probabilities (0–1) of each fault, drawn once per request in this order; the rest is forwarded untouched. */
export interface FaultPlan {
  /** Answer 500 without forwarding. */
  errorBefore?: number;
  /** Forward, then answer 500 instead of the control plane's answer (the work was done; the client must retry). */
  errorAfter?: number;
  /** Wait `stallMs` before forwarding. */
  stallBefore?: number;
  /** Forward, then wait `stallMs` before answering. */
  stallAfter?: number;
  /** Stall length range in ms, uniform. Default [200, 2000]. */
  stallMs?: [number, number];
  /** Which requests the plan applies to (method + path); default every request. */
  applies?: (method: string, path: string) => boolean;
}

/** What the proxy does with requests. */
export type FaultMode =
  /** Forward everything untouched. */
  | { kind: 'pass' }
  /** Refuse matching requests with 503 at once (control plane away); others pass. */
  | { kind: 'down'; applies?: (method: string, path: string) => boolean }
  /** Random faults per {@link FaultPlan}. */
  | { kind: 'faulty'; plan: FaultPlan }
  /**
   * Forward matching requests, then hold their answers until {@link FaultProxy.release} (or the client leaves):
   * the control plane has done the work, the client never learns it.
   */
  | { kind: 'hold'; applies?: (method: string, path: string) => boolean };

/** A receipt the control plane sent for `POST /v1/agent/results`, and whether the client received it. */
export interface Receipt {
  stored: number;
  duplicates: number;
  /** False when the proxy replaced the answer (500) or the client had gone. */
  delivered: boolean;
}

/** Counters of what the proxy did. */
export interface FaultCounts {
  requests: number;
  forwarded: number;
  errorBefore: number;
  errorAfter: number;
  stallBefore: number;
  stallAfter: number;
  refused: number;
  held: number;
  upstreamFailed: number;
}

export const isResultsPost = (method: string, path: string): boolean =>
  method === 'POST' && path.startsWith('/v1/agent/results');

export interface FaultProxyOptions {
  /** Control plane base URL to forward to. */
  target: string;
  /** Address to listen on (default 127.0.0.1); port 0 picks a free one unless `port` is given. */
  host?: string;
  port?: number;
  seed?: number;
}

/** The running proxy. */
export class FaultProxy {
  readonly counts: FaultCounts = {
    requests: 0,
    forwarded: 0,
    errorBefore: 0,
    errorAfter: 0,
    stallBefore: 0,
    stallAfter: 0,
    refused: 0,
    held: 0,
    upstreamFailed: 0,
  };
  readonly receipts: Receipt[] = [];
  /** The seed in use, for the failure message of a test. */
  readonly seed: number;
  #mode: FaultMode = { kind: 'pass' };
  readonly #random: () => number;
  readonly #target: string;
  readonly #server: Server;
  readonly #held = new Set<() => void>();
  #url = '';

  private constructor(options: FaultProxyOptions) {
    this.seed = options.seed ?? 1;
    this.#random = mulberry32(this.seed);
    this.#target = options.target.replace(/\/+$/, '');
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`[fault-proxy] ${(err as Error).message}\n`);
      });
    });
  }

  /** Starts listening; resolves once bound. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = proxy.#server.address() as AddressInfo;
    proxy.#url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return proxy;
  }

  /** The proxy's base URL, to give the client instead of the control plane's. */
  get url(): string {
    return this.#url;
  }

  /** Changes what the proxy does from the next request on (held answers stay held until {@link release}). */
  set(mode: FaultMode): void {
    this.#mode = mode;
  }

  /** Lets held answers go (to clients still waiting). */
  release(): void {
    for (const go of this.#held) go();
    this.#held.clear();
  }

  /** Answers held right now. */
  get holding(): number {
    return this.#held.size;
  }

  /** Results the control plane reported newly stored / already stored, over every receipt seen. */
  totals(): { stored: number; duplicates: number } {
    return this.receipts.reduce(
      (t, r) => ({ stored: t.stored + r.stored, duplicates: t.duplicates + r.duplicates }),
      { stored: 0, duplicates: 0 },
    );
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counts.requests++;
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readBody(req);
    const mode = this.#mode;
    const all = () => true;

    if (mode.kind === 'down' && (mode.applies ?? all)(method, path)) {
      this.counts.refused++;
      return reply(res, 503, 'control plane down (fault proxy)');
    }
    let fault: 'errorBefore' | 'errorAfter' | 'stallBefore' | 'stallAfter' | undefined;
    let stall = 0;
    if (mode.kind === 'faulty' && (mode.plan.applies ?? all)(method, path)) {
      const p = mode.plan;
      const [lo, hi] = p.stallMs ?? [200, 2000];
      const x = this.#random();
      stall = lo + (hi - lo) * this.#random();
      let edge = 0;
      for (const name of ['errorBefore', 'errorAfter', 'stallBefore', 'stallAfter'] as const) {
        edge += p[name] ?? 0;
        if (x < edge) {
          fault = name;
          break;
        }
      }
    }
    if (fault) this.counts[fault]++;
    if (fault === 'errorBefore') return reply(res, 500, 'injected failure before forwarding (fault proxy)');
    if (fault === 'stallBefore' && !(await this.#wait(res, stall))) return;

    let upstream: { status: number; headers: Record<string, string>; body: Buffer };
    try {
      upstream = await this.#forward(req, method, path, body, res);
    } catch (err) {
      this.counts.upstreamFailed++;
      return reply(res, 502, `upstream failed: ${(err as Error).message}`);
    }
    this.counts.forwarded++;
    const receipt =
      isResultsPost(method, path) && upstream.status === 200 ? parseReceipt(upstream.body) : undefined;
    const record = (delivered: boolean) => {
      if (receipt) this.receipts.push({ ...receipt, delivered });
    };

    if (fault === 'errorAfter') {
      record(false);
      return reply(res, 500, 'injected failure after forwarding (fault proxy)');
    }
    if (fault === 'stallAfter' && !(await this.#wait(res, stall))) return record(false);
    if (mode.kind === 'hold' && (mode.applies ?? all)(method, path)) {
      this.counts.held++;
      const stayed = await new Promise<boolean>((resolve) => {
        const go = () => resolve(!res.destroyed && !res.writableEnded);
        this.#held.add(go);
        res.once('close', () => {
          this.#held.delete(go);
          resolve(false);
        });
      });
      if (!stayed) return record(false);
    }
    if (res.destroyed) return record(false);
    record(true);
    res.writeHead(upstream.status, upstream.headers).end(upstream.body);
  }

  async #forward(
    req: IncomingMessage,
    method: string,
    path: string,
    body: Buffer,
    res: ServerResponse,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k)) continue;
      headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    // A long-poll must end when the client leaves, not hold an upstream request open forever.
    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    try {
      const up = await request(`${this.#target}${path}`, {
        method: method as 'GET',
        headers,
        ...(body.length > 0 ? { body } : {}),
        signal: abort.signal,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      const out = Buffer.from(await up.body.arrayBuffer());
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(up.headers)) {
        if (v === undefined || HOP_BY_HOP.has(k) || k === 'content-length') continue;
        h[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      h['content-length'] = String(out.length);
      return { status: up.statusCode, headers: h, body: out };
    } finally {
      res.off('close', onClose);
    }
  }

  /** Waits `ms` unless the client leaves first; true if the client is still there. */
  #wait(res: ServerResponse, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        res.off('close', gone);
        resolve(!res.destroyed);
      }, ms);
      const gone = () => {
        clearTimeout(timer);
        resolve(false);
      };
      res.once('close', gone);
    });
  }
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function reply(res: ServerResponse, status: number, message: string): void {
  if (res.destroyed) return;
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ error: { code: 'fault_proxy', message } }));
}

function parseReceipt(body: Buffer): { stored: number; duplicates: number } | undefined {
  try {
    const r = JSON.parse(body.toString('utf8')) as { stored?: unknown; duplicates?: unknown };
    return typeof r.stored === 'number' && typeof r.duplicates === 'number'
      ? { stored: r.stored, duplicates: r.duplicates }
      : undefined;
  } catch {
    return undefined;
  }
}
