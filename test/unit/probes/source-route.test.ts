/**
 * The source address towards a target, asked of the kernel through the addon (route.c): what the UDP and TCP
 * probers put in their IPv4 checksum's pseudo-header. No packet is sent by a lookup. Root for the namespace case.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../../agent/packets/index.js';
import { NoRouteError, SourceRoutes } from '../../../agent/probes/source-route.js';
import { ROOT } from '../../lab/process.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

describe('SourceRoutes', () => {
  it('gives the address the kernel sends from: loopback answers from 127.0.0.1 and ::1', () => {
    const routes = new SourceRoutes();
    expect([...routes.source('127.0.0.5', parseIpv4('127.0.0.5'))]).toEqual([127, 0, 0, 1]);
    expect([...routes.source('::1', parseIpv6('::1'))]).toEqual([...parseIpv6('::1')]);
    // Asked again, one after another, each gets its own answer (the socket forgets the last target).
    for (const target of ['127.0.0.1', '127.9.9.9', '127.0.0.1']) {
      expect([...routes.source(target, parseIpv4(target), false)]).toEqual([127, 0, 0, 1]);
    }
  });

  it('keeps an answer for a minute unless told not to (a sweep)', () => {
    const routes = new SourceRoutes();
    const kept = routes.source('127.0.0.7', parseIpv4('127.0.0.7'));
    expect(routes.source('127.0.0.7', parseIpv4('127.0.0.7'))).toBe(kept);
    const once = routes.source('127.0.0.8', parseIpv4('127.0.0.8'), false);
    expect(routes.source('127.0.0.8', parseIpv4('127.0.0.8'), false)).not.toBe(once);
  });

  describe.skipIf(!isRoot)('in a namespace with no route out (root)', () => {
    const ns = `pgl-route-${process.pid}`;
    afterAll(async () => {
      await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    });

    it("picks each target's own source, and says when there is no route", async () => {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      // A second route with its own source: each lookup must pick its target's, not keep the previous one's.
      await run('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
      await run('ip', ['-n', ns, 'addr', 'add', '198.18.77.1/24', 'dev', 'v0']);
      await run('ip', ['-n', ns, 'link', 'set', 'v0', 'up']);
      await run('ip', ['-n', ns, 'link', 'set', 'v1', 'up']);
      const script = `
        const native = require('./agent/native/index.cjs');
        const out = new Uint8Array(4);
        for (const to of [[127, 0, 0, 3], [198, 18, 77, 5], [127, 0, 0, 3]]) {
          native.sourceFor(new Uint8Array(to), out);
          console.log(out.join('.'));
        }
        try { native.sourceFor(new Uint8Array([198, 18, 9, 9]), out); console.log('routed'); }
        catch (err) { console.log(err.message); }`;
      const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
        cwd: ROOT,
        timeout: 20_000,
      });
      expect(stdout.trim().split('\n')).toEqual([
        '127.0.0.1',
        '198.18.77.1',
        '127.0.0.1',
        'connect: Network is unreachable',
      ]);
      const err = new NoRouteError('198.18.9.9', { cause: new Error('connect: Network is unreachable') });
      expect(err.message).toBe('[probes] no route to 198.18.9.9: connect: Network is unreachable');
    });
  });
});
