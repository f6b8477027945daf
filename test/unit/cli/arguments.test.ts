import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  collectLabel,
  parseBoolean,
  parseIdList,
  parseInteger,
  parsePositiveInteger,
} from '../../../cli/arguments.js';

describe('argument parsers', () => {
  it('parseInteger takes whole decimal numbers of any sign and leaves ranges to the server', () => {
    expect(parseInteger('300')).toBe(300);
    expect(parseInteger('-1')).toBe(-1);
    expect(parseInteger(' 7 ')).toBe(7);
    for (const bad of ['', '1.5', '1e3', '0x10', 'ten', '12abc', '99999999999999999999']) {
      expect(() => parseInteger(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('parsePositiveInteger refuses 0 and below', () => {
    expect(parsePositiveInteger('1')).toBe(1);
    expect(() => parsePositiveInteger('0')).toThrow('must be at least 1');
  });

  it('parseBoolean takes exactly true or false', () => {
    expect(parseBoolean('true')).toBe(true);
    expect(parseBoolean('false')).toBe(false);
    expect(() => parseBoolean('yes')).toThrow('must be true or false');
    expect(() => parseBoolean('TRUE')).toThrow(InvalidArgumentError);
  });

  it('parseIdList splits on commas, trims, and refuses an empty list', () => {
    expect(parseIdList('src_a, src_b,,src_c ')).toEqual(['src_a', 'src_b', 'src_c']);
    expect(() => parseIdList(' , ')).toThrow('at least one id');
  });

  it('collectLabel accumulates k=v pairs; the value may hold = and be empty; a later key wins', () => {
    let labels = collectLabel('dc=ams', undefined);
    labels = collectLabel('q=a=b', labels);
    labels = collectLabel('empty=', labels);
    labels = collectLabel('dc=fra', labels);
    expect(labels).toEqual({ dc: 'fra', q: 'a=b', empty: '' });
    expect(() => collectLabel('=v', undefined)).toThrow('must be key=value');
    expect(() => collectLabel('novalue', undefined)).toThrow('must be key=value');
  });
});
