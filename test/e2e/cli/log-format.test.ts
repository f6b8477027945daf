/**
 * Which log lines a person and a machine get: `--log-format`, then `PINGER_LOG_FORMAT`, then whether stderr is a
 * terminal. Real `pinger serve` processes; their stderr is a pipe here, so JSON is the default and pretty lines
 * are asked for explicitly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveLogFormat } from '../../../cli/log.js';
import { runPinger, spawnPinger } from '../../helpers/pinger-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pinger-log-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `pinger serve` on a free port, waits for it to listen, stops it, and returns its stderr lines. */
async function serveLog(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const proc = spawnPinger(['serve', '--port', '0', '--db', join(dir, `${args.join('')}.db`), ...args], {
    env,
  });
  try {
    await proc.waitForLine('stdout', /listening on http:\/\/127\.0\.0\.1:\d+/);
    await proc.waitForLine('stderr', /listening/);
  } finally {
    await proc.stop('SIGTERM');
  }
  return proc.stderr.filter((line) => line.length > 0);
}

describe('resolveLogFormat', () => {
  it('takes the option first, then PINGER_LOG_FORMAT, then whether stderr is a terminal', () => {
    expect(resolveLogFormat('json', { PINGER_LOG_FORMAT: 'pretty' }, true)).toBe('json');
    expect(resolveLogFormat(undefined, { PINGER_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(resolveLogFormat(undefined, { PINGER_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(resolveLogFormat(undefined, {}, true)).toBe('pretty');
    expect(resolveLogFormat(undefined, {}, false)).toBe('json');
  });

  it('names a bad PINGER_LOG_FORMAT', () => {
    expect(() => resolveLogFormat(undefined, { PINGER_LOG_FORMAT: 'yaml' }, true)).toThrow(
      'PINGER_LOG_FORMAT must be json or pretty, got "yaml"',
    );
  });
});

describe('pinger serve logs', () => {
  it('writes JSON lines when stderr is not a terminal', async () => {
    const lines = await serveLog([]);
    const listening = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.msg === 'listening');
    expect(listening).toMatchObject({ level: 30, name: 'pinger', store: 'sqlite' });
  });

  it('writes one readable line per event with --log-format pretty or PINGER_LOG_FORMAT=pretty', async () => {
    for (const [args, env] of [
      [['--log-format', 'pretty'], {}],
      [[], { PINGER_LOG_FORMAT: 'pretty' }],
    ] as const) {
      const lines = await serveLog([...args], env);
      const listening = lines.find((line) => line.includes('listening'));
      expect(listening).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening \{"url":"http:\/\/127\.0\.0\.1:\d+"/,
      );
      // No colour codes into a pipe, and no line is JSON.
      expect(lines.join('\n')).not.toContain('\u001b[');
      expect(lines.every((line) => !line.startsWith('{'))).toBe(true);
    }
  });

  it('refuses a bad format by name, before it starts', async () => {
    const bad = await runPinger(['serve', '--port', '0', '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'xml' is invalid. --log-format must be json or pretty");
    const badEnv = await runPinger(['serve', '--port', '0'], { PINGER_LOG_FORMAT: 'yaml' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('pinger: PINGER_LOG_FORMAT must be json or pretty, got "yaml"');
  });
});
