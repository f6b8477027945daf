import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../../../agent/delivery/line-buffer.js';

describe('LineBuffer', () => {
  it('hands out the oldest lines as the bytes to write, each with its newline, in UTF-8', () => {
    const lines = new LineBuffer(16);
    lines.push('{"a":1}');
    lines.push('{"b":"é→✓"}');
    lines.push('{"c":3}');
    expect(lines.length).toBe(3);
    expect(lines.take(2).toString('utf8')).toBe('{"a":1}\n{"b":"é→✓"}\n');
    expect(lines.take(10).toString('utf8')).toBe('{"a":1}\n{"b":"é→✓"}\n{"c":3}\n');
    lines.drop(1);
    expect(lines.length).toBe(2);
    expect(lines.take(1).toString('utf8')).toBe('{"b":"é→✓"}\n');
    lines.drop(5);
    expect(lines.length).toBe(0);
    expect(lines.take(1).length).toBe(0);
  });

  it('keeps a taken copy intact while lines come and go, through compaction and growth', () => {
    const lines = new LineBuffer(64);
    const expected: string[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 37; i++) {
        const line = `{"n":${next++},"pad":"${'x'.repeat(next % 50)}"}`;
        lines.push(line);
        expected.push(line);
      }
      const count = 1 + (round % 30);
      const taken = lines.take(count);
      // More lines arrive (sliding and growing the buffer) before the copy is written and dropped.
      for (let i = 0; i < 5; i++) {
        const line = `{"late":${next++}}`;
        lines.push(line);
        expected.push(line);
      }
      expect(taken.toString('utf8')).toBe(`${expected.slice(0, count).join('\n')}\n`);
      lines.drop(count);
      expected.splice(0, count);
      expect(lines.length).toBe(expected.length);
    }
    expect(lines.take(expected.length).toString('utf8')).toBe(`${expected.join('\n')}\n`);
  });
});
