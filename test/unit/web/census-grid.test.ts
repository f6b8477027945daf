/**
 * The census map's pure parts on constructed inputs: grid shapes per prefix length, address ⇄ cell both ways
 * (IPv4 and IPv6), and the state each host is drawn in (the browser test checks them again through the page).
 */
import { describe, expect, it } from 'vitest';
import type { CensusEvent, CensusHost } from '../../../contract/index.js';
import { addressAt, gridOf, hostStates, offsetOf } from '../../../web/src/census-grid.js';

const host = (address: string, state: 'up' | 'down', missed = 0): CensusHost => ({
  address,
  state,
  firstSeen: '1',
  lastSeen: '1',
  lastRtt: null,
  passesAnswered: 1,
  missed,
});

describe('census grid', () => {
  it('is 256×256 for a /16 and proportionate for longer prefixes', () => {
    const shape = (p: string) => {
      const g = gridOf(p)!;
      return [g.cols, g.rows];
    };
    expect(shape('198.18.0.0/16')).toEqual([256, 256]);
    expect(shape('198.18.0.0/17')).toEqual([256, 128]);
    expect(shape('198.18.0.0/24')).toEqual([16, 16]);
    expect(shape('198.18.0.0/25')).toEqual([16, 8]);
    expect(shape('198.18.0.0/32')).toEqual([1, 1]);
    expect(shape('fd00:198:18::/112')).toEqual([256, 256]);
    expect(gridOf('198.18.0.0/8')).toBeUndefined();
    expect(gridOf('198.18.0.1')).toBeUndefined();
  });

  it('places addresses by offset from the network, both ways, and refuses outsiders', () => {
    const g = gridOf('198.18.0.0/16')!;
    expect(offsetOf(g, '198.18.0.0')).toBe(0);
    expect(offsetOf(g, '198.18.1.20')).toBe(256 + 20);
    expect(offsetOf(g, '198.18.255.255')).toBe(65_535);
    expect(offsetOf(g, '198.19.0.0')).toBeUndefined();
    expect(offsetOf(g, 'fd00::1')).toBeUndefined();
    for (const o of [0, 276, 65_535]) expect(offsetOf(g, addressAt(g, o))).toBe(o);
    const small = gridOf('198.18.4.128/25')!;
    expect(offsetOf(small, '198.18.4.130')).toBe(2);
    expect(offsetOf(small, '198.18.4.127')).toBeUndefined();

    const six = gridOf('fd00:198:18::/112')!;
    expect(offsetOf(six, 'fd00:198:18::1:2')).toBeUndefined();
    expect(offsetOf(six, 'fd00:198:18::102')).toBe(0x102);
    expect(offsetOf(six, 'fd00:198:19::102')).toBeUndefined();
    expect(addressAt(six, 0x102)).toBe('fd00:198:18:0:0:0:0:102');
    expect(offsetOf(six, addressAt(six, 0xffff))).toBe(0xffff);
  });

  it('draws new from the API, gone from the latest event (or missed passes past the events), else the host state', () => {
    const hosts = [
      host('198.18.0.1', 'up'),
      host('198.18.0.2', 'up'),
      host('198.18.0.3', 'down', 1),
      host('198.18.0.4', 'down', 3),
      host('198.18.0.5', 'down', 5),
      host('198.18.0.6', 'down', 2),
    ];
    const events: CensusEvent[] = [
      // Newest first: .4 went; .6 appeared again after it was gone, and is down now without being gone again.
      { at: '9', address: '198.18.0.4', kind: 'gone' },
      { at: '8', address: '198.18.0.6', kind: 'appeared' },
      { at: '5', address: '198.18.0.6', kind: 'gone' },
    ];
    expect(hostStates(hosts, [hosts[1]!], events, 3)).toEqual({
      '198.18.0.1': 'up',
      '198.18.0.2': 'new',
      '198.18.0.3': 'down',
      '198.18.0.4': 'gone',
      '198.18.0.5': 'gone',
      '198.18.0.6': 'down',
    });
  });
});
