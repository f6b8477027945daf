/** `--retention` and `PINGER_RETENTION` for `pinger serve` and `pinger up`: parsed once, refused by name. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.js';
import { addServerOptions, retentionOf, type ServerCliOptions } from '../../../cli/server-options.js';
import { DEFAULT_RETENTION } from '../../../contract/index.js';

function parse(args: string[]): ServerCliOptions {
  const program = addServerOptions(new Command('serve'))
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  program.parse(args, { from: 'user' });
  return program.opts<ServerCliOptions>();
}

describe('retention options', () => {
  it('--retention wins over PINGER_RETENTION; without either the store keeps its defaults', () => {
    const options = parse(['--retention', 'raw=7d']);
    expect(retentionOf(options, { PINGER_RETENTION: 'raw=30d' })).toEqual({
      ...DEFAULT_RETENTION,
      raw: 7 * 86_400,
    });
    expect(retentionOf(parse([]), { PINGER_RETENTION: 'hour=forever' })).toEqual({
      ...DEFAULT_RETENTION,
      hour: null,
    });
    expect(retentionOf(parse([]), {})).toBeUndefined();
  });

  it('refuses a bad --retention naming the rule, and a bad PINGER_RETENTION with a CliError naming the variable', () => {
    expect(() => parse(['--retention', 'raw=1h'])).toThrow(/raw must be a duration of at least 1d/);
    expect(() => retentionOf(parse([]), { PINGER_RETENTION: 'weekly=1d' })).toThrow(CliError);
    expect(() => retentionOf(parse([]), { PINGER_RETENTION: 'weekly=1d' })).toThrow(/^PINGER_RETENTION: /);
  });
});
