/**
 * What every admin command shares: the connection options (`--url`, `--token`, `--json`), a client made from
 * them, one place that prints, and one mapping from API failures to exit codes and messages.
 *
 * Exit codes: 0 done; 2 bad arguments or a request the control plane refused (4xx), with its message and each
 * field at fault; 1 no usable answer (cannot connect, timeout, 5xx, a body outside the contract).
 */
import { type Command, Option } from 'commander';
import {
  ApiClient,
  ApiClientError,
  ApiConnectionError,
  ApiError,
  ApiResponseError,
  DEFAULT_URL,
} from './client.js';
import { CliError } from './errors.js';

/** Where a command writes: the process's streams, or a buffer in tests. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The process's own streams. */
export const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Options every admin command takes. */
export interface ApiOptions {
  url: string;
  token?: string;
  json?: boolean;
}

/** What a command's handler gets: the client, the output mode, and where to write. */
export interface ApiContext {
  client: ApiClient;
  /** `--json` was given: print JSON for scripts, no tables and no prose on stdout. */
  json: boolean;
  io: Io;
  /** Prints `value` as indented JSON under `--json`, else the human text `human()` renders. */
  print(value: unknown, human: () => string): void;
  /** A remark for people (stderr), never mixed into output a script parses. */
  note(text: string): void;
}

const CONNECTION = 'Connection:';
const EXIT_STATUS =
  '\nExit status: 0 done; 1 no usable answer (cannot connect, timeout, server error);\n' +
  '2 bad arguments or a request the control plane refused (its message and each field at fault on stderr).';

/**
 * Makes `command` an API command: adds the connection options (after the command's own, under their own help
 * heading) and runs `handler` as its action with a client built from them. Client errors become
 * {@link CliError}s with the exit code of the table above.
 */
export function apiAction<O extends ApiOptions>(
  command: Command,
  io: Io,
  handler: (ctx: ApiContext, args: string[], options: O) => Promise<void>,
): Command {
  return command
    .addOption(
      new Option('--url <url>', 'base URL of the control plane')
        .env('PINGER_URL')
        .default(DEFAULT_URL)
        .helpGroup(CONNECTION),
    )
    .addOption(
      new Option(
        '--token <token>',
        'admin token; a read-only one may list and show (prefer the variable: arguments show in ps)',
      )
        .env('PINGER_TOKEN')
        .helpGroup(CONNECTION),
    )
    .addOption(new Option('--json', 'print JSON for scripts instead of a table').helpGroup(CONNECTION))
    .addHelpText('after', EXIT_STATUS)
    .action(async (...commanderArgs: unknown[]) => {
      const cmd = commanderArgs.at(-1) as Command;
      const options = cmd.opts<O>();
      const json = options.json === true;
      try {
        const ctx: ApiContext = {
          client: new ApiClient({ url: options.url, token: options.token }),
          json,
          io,
          print: (value, human) => io.stdout(`${json ? JSON.stringify(value, null, 2) : human()}\n`),
          note: (text) => io.stderr(`${text}\n`),
        };
        await handler(ctx, cmd.processedArgs as string[], options);
      } catch (err) {
        throw toCliError(err, options);
      }
    });
}

/** The message and exit code the operator sees for a failed request. */
export function toCliError(err: unknown, options: Pick<ApiOptions, 'url' | 'token'>): unknown {
  if (err instanceof ApiError) {
    const lines = [`${err.detail} (HTTP ${err.status} ${err.code})`];
    for (const issue of err.issues) lines.push(`  ${issue.path || '(body)'}: ${issue.message}`);
    if (err.status === 401 && !options.token) lines.push('  give a token with --token or PINGER_TOKEN');
    return new CliError(lines.join('\n'), err.status < 500 ? 2 : 1, { cause: err });
  }
  if (err instanceof ApiConnectionError) {
    const hint = err.reason === 'ECONNREFUSED' ? ' Otherwise point --url or PINGER_URL at it.' : '';
    return new CliError(`cannot reach the control plane at ${err.origin}: ${err.detail}${hint}`, 1, {
      cause: err,
    });
  }
  if (err instanceof ApiResponseError) {
    return new CliError(`unexpected answer: ${withoutPrefix(err.message)}`, 1, { cause: err });
  }
  // What is left is the client refusing its own input (a --url that is not a URL).
  if (err instanceof ApiClientError) return new CliError(withoutPrefix(err.message), 2, { cause: err });
  return err;
}

function withoutPrefix(message: string): string {
  return message.replace(/^\[api-client\] /, '');
}
