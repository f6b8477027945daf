import { getEventListeners, setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkSignals } from '../../../control-plane/linked-signal.js';

describe('linkSignals', () => {
  it('aborts with the reason of whichever source aborts first, and then lets go of the others', () => {
    const request = new AbortController();
    const shutdown = new AbortController();
    const linked = linkSignals(request.signal, undefined, shutdown.signal);
    expect(linked.signal.aborted).toBe(false);
    shutdown.abort(new Error('closing'));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('closing');
    expect(getEventListeners(request.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('is aborted at once when a source already is, attaching nothing', () => {
    const shutdown = new AbortController();
    const request = new AbortController();
    request.abort('gone');
    const linked = linkSignals(shutdown.signal, request.signal);
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('gone');
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });

  it('detaches on release (twice is harmless), and a later abort no longer reaches it', () => {
    const shutdown = new AbortController();
    setMaxListeners(0, shutdown.signal); // as the server does: one listener per waiting request is expected
    const links = Array.from({ length: 1000 }, () =>
      linkSignals(new AbortController().signal, shutdown.signal),
    );
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1000);
    for (const link of links) {
      link.release();
      link.release();
    }
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    shutdown.abort();
    expect(links.some((link) => link.signal.aborted)).toBe(false);
  });
});
