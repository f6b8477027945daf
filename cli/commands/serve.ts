/**
 * `pinger serve`: the control plane on this host with an embedded SQLite file. Prints the URL it listens on,
 * and on a first start without `PINGER_ADMIN_TOKEN` the admin token it generated (shown this once; only its
 * hash is kept).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { CliError } from '../errors.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('must be a port number, 0–65535.');
  return port;
}

interface ServeCliOptions {
  host: string;
  port: number;
  db?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the control plane (HTTP API) with an embedded SQLite database')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'TCP port to listen on (0 picks a free one)', parsePort, 8080)
    .option('--db <file>', 'SQLite database file (env PINGER_DB; default ./data/pinger.db)')
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  PINGER_DB           database file, if --db is not given\n' +
        '  PINGER_ADMIN_TOKEN  admin token (32+ characters); without it one is generated on first start\n' +
        '  PINGER_LOG_LEVEL    pino log level on stderr (default info)',
    )
    .action(async (options: ServeCliOptions) => {
      // Loaded here so that other commands never open SQLite.
      const { serve, closeOnSignals, createLogger, ServeError } = await import('../../control-plane/node.js');
      const logger = createLogger();
      let handle: Awaited<ReturnType<typeof serve>>;
      try {
        handle = await serve({
          host: options.host,
          port: options.port,
          dbPath: options.db ?? process.env.PINGER_DB,
          adminToken: process.env.PINGER_ADMIN_TOKEN || undefined,
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
