/**
 * `pinger serve`: the control plane on this host with an embedded SQLite file. Prints the URL it listens on,
 * and on a first start without `PINGER_ADMIN_TOKEN` the admin token it generated (shown this once; only its
 * hash is kept).
 */
import type { Command } from 'commander';
import { parseDuration } from '../arguments.js';
import { CliError } from '../errors.js';
import { createCliLogger, LOG_ENVIRONMENT_HELP, resolveLogFormat } from '../log.js';
import { addServerOptions, retentionOf, type ServerCliOptions } from '../server-options.js';

export function register(program: Command): void {
  addServerOptions(
    program.command('serve').description('run the control plane (HTTP API) with an embedded SQLite database'),
  )
    .option(
      '--census-silent-after <duration>',
      'a source not heard from for this long loses its slices of split censuses to the others (default 3m)',
      parseDuration,
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  PINGER_DB           database file, if --db is not given\n' +
        '  PINGER_ADMIN_TOKEN  admin token (32+ characters); without it one is generated on first start\n' +
        '  PINGER_RETENTION    retention, if --retention is not given\n' +
        LOG_ENVIRONMENT_HELP,
    )
    .action(async (options: ServerCliOptions & { censusSilentAfter?: number }) => {
      // Loaded here so that other commands never open SQLite.
      const { serve, closeOnSignals, ServeError } = await import('../../control-plane/node.js');
      const logger = await createCliLogger({ name: 'pinger', format: resolveLogFormat(options.logFormat) });
      let handle: Awaited<ReturnType<typeof serve>>;
      try {
        handle = await serve({
          host: options.host,
          port: options.port,
          dbPath: options.db ?? process.env.PINGER_DB,
          adminToken: process.env.PINGER_ADMIN_TOKEN || undefined,
          retention: retentionOf(options),
          ...(options.censusSilentAfter !== undefined
            ? { censusSilentAfterMs: options.censusSilentAfter }
            : {}),
          logger,
        });
      } catch (err) {
        if (err instanceof ServeError)
          throw new CliError(err.message.replace(/^\[serve\] /, ''), 1, { cause: err });
        throw err;
      }
      // The token first: whoever waits for the "listening" line has then seen everything printed.
      if (handle.generatedAdminToken) {
        process.stdout.write(
          `pinger: admin token (shown once, only its hash is stored): ${handle.generatedAdminToken}\n`,
        );
      }
      process.stdout.write(`pinger: listening on ${handle.url}\n`);
      closeOnSignals(handle, logger);
    });
}
