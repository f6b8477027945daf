/**
 * `pinger up` (what `npm start` runs): the whole product on one host, in one process. The control plane with its
 * SQLite file, a source named `local`, an agent for it, and loopback to probe when nothing else is configured.
 * Ctrl-C stops the agent first (it flushes its last results into the still-running control plane), then the
 * control plane.
 *
 * Tokens the control plane shows once are kept beside the database, mode 0600: the admin token it generated
 * (`admin.token`) and the local agent's (`local-agent.token`), so that a second `pinger up` needs nothing typed.
 */
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { AgentHandle } from '../../agent/main.js';
import type { ServerHandle } from '../../control-plane/node.js';
import { ApiClient, DEFAULT_URL } from '../client.js';
import { CliError } from '../errors.js';
import { createCliLogger, LOG_ENVIRONMENT_HELP, resolveLogFormat } from '../log.js';
import { addServerOptions, retentionOf, type ServerCliOptions } from '../server-options.js';
import { ensureLocalSource, type LocalSource, seedDestinations, tokenSource } from '../up/local-setup.js';
import { readSecret, writeSecret } from '../up/secret-file.js';

/** Where the admin token came from, for the banner. */
type AdminToken =
  | { token: string; origin: 'env' | 'generated' | 'file' }
  | { token: undefined; origin: 'unknown' };

export function register(program: Command): void {
  addServerOptions(
    program
      .command('up')
      .description('run everything on this host: control plane, a local source and its agent (npm start)'),
  )
    .addHelpText(
      'after',
      '\nBeside the database it keeps admin.token and local-agent.token (mode 0600) and the agent spool.\n' +
        '\nEnvironment:\n' +
        '  PINGER_ADMIN_TOKEN  admin token to use instead of the generated one\n' +
        '  PINGER_RETENTION    retention, if --retention is not given\n' +
        `${LOG_ENVIRONMENT_HELP}\n` +
        '\nThe agent needs CAP_NET_RAW (or root) for raw sockets.',
    )
    .action(async (options: ServerCliOptions) => {
      await up(options);
    });
}

async function up(options: ServerCliOptions): Promise<void> {
  // Loaded here so that other commands never open SQLite or raw sockets.
  const [log, node, agentMain] = await Promise.all([
    createCliLogger({ name: 'pinger', format: resolveLogFormat(options.logFormat) }),
    import('../../control-plane/node.js'),
    import('../../agent/main.js'),
  ]);
  const dbPath = resolve(options.db ?? process.env.PINGER_DB ?? join('data', 'pinger.db'));
  const dataDir = dirname(dbPath);
  const files = {
    admin: join(dataDir, 'admin.token'),
    agent: join(dataDir, 'local-agent.token'),
    spool: join(dataDir, 'spool'),
  };
  const envAdminToken = process.env.PINGER_ADMIN_TOKEN || undefined;

  let server: ServerHandle;
  try {
    server = await node.serve({
      host: options.host,
      port: options.port,
      dbPath,
      adminToken: envAdminToken,
      retention: retentionOf(options),
      logger: log.child({ component: 'control-plane' }),
    });
  } catch (err) {
    if (err instanceof node.ServeError)
      throw new CliError(err.message.replace(/^\[serve\] /, ''), 1, { cause: err });
    throw err;
  }

  let agent: AgentHandle;
  let admin: AdminToken;
  let local: LocalSource;
  let seeded: string[];
  const localUrl = loopbackUrl(server.url);
  try {
    admin = await adminToken(envAdminToken, server.generatedAdminToken, files.admin, localUrl);
    ({ local, seeded } = await prepareLocalSource(admin, localUrl, files.agent));
    agent = await agentMain.startAgent({
      url: localUrl,
      token: local.token,
      spoolDir: files.spool,
      logger: log.child({ component: 'agent' }),
    });
  } catch (err) {
    await server.close();
    throw err;
  }

  process.stdout.write(banner({ url: server.url, localUrl, dbPath, files, admin, local, seeded }));

  // First signal: stop in order. Second: the operator insists.
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info({}, '[up] stopping the agent, then the control plane');
      await agent.stop();
      await server.close();
    })();
    return stopping;
  };
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    log.info({ signal }, '[up] signal received');
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The agent ends after a signal's stop, or by itself on a fatal error (token refused, no CAP_NET_RAW):
  // either way the control plane goes down with it.
  const fatal = await agent.done.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  await stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (fatal) throw new CliError(`the local agent stopped: ${fatal.message}`, 1, { cause: fatal });
}

/** The URL the in-process agent and the CLI hints use: a wildcard listen address is reached over loopback. */
function loopbackUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

/** The admin token `up` can act with: the operator's, the one just generated (saved), or the saved one. */
async function adminToken(
  fromEnv: string | undefined,
  generated: string | undefined,
  file: string,
  url: string,
): Promise<AdminToken> {
  if (fromEnv !== undefined) return { token: fromEnv, origin: 'env' };
  if (generated !== undefined) {
    await writeSecret(file, generated);
    return { token: generated, origin: 'generated' };
  }
  const saved = await readSecret(file);
  if (saved !== undefined) {
    // The saved token is retired while PINGER_ADMIN_TOKEN was in force, or the database was replaced.
    const works = await new ApiClient({ url, token: saved }).listSources().then(
      () => true,
      () => false,
    );
    if (works) return { token: saved, origin: 'file' };
  }
  return { token: undefined, origin: 'unknown' };
}

/** The local source and the destinations added for it; without an admin token, only a saved agent token will do. */
async function prepareLocalSource(
  admin: AdminToken,
  url: string,
  agentTokenFile: string,
): Promise<{ local: LocalSource; seeded: string[] }> {
  if (admin.token !== undefined) {
    const api = new ApiClient({ url, token: admin.token });
    const local = await ensureLocalSource(api, agentTokenFile);
    const seeded = await seedDestinations(api, local.id);
    return { local, seeded: seeded.map((d) => `${d.address} (${d.protocol})`) };
  }
  const saved = await readSecret(agentTokenFile);
  const id = saved === undefined ? undefined : await tokenSource(url, saved);
  if (saved === undefined || id === undefined) {
    throw new CliError(
      `cannot set up the local source: its agent token is not in ${agentTokenFile} and this database's admin ` +
        'token was generated on its first start and is not saved either. Set PINGER_ADMIN_TOKEN (it replaces ' +
        'the generated one; see pinger serve --help), or start with a new --db.',
      1,
    );
  }
  return { local: { id, token: saved, origin: 'file' }, seeded: [] };
}

interface BannerFacts {
  url: string;
  localUrl: string;
  dbPath: string;
  files: { admin: string; agent: string; spool: string };
  admin: AdminToken;
  local: LocalSource;
  seeded: string[];
}

/** What the operator reads on stdout: where things are and what to type next. */
function banner(f: BannerFacts): string {
  const show = (path: string) => relative(process.cwd(), path) || '.';
  const adminLine = {
    env: 'admin token: PINGER_ADMIN_TOKEN',
    generated: `admin token (new, shown once, kept in ${show(f.files.admin)}): ${f.admin.token}`,
    file: `admin token: in ${show(f.files.admin)}`,
    unknown:
      'admin token: generated on the first start of this database and not kept here; set PINGER_ADMIN_TOKEN to administer it',
  }[f.admin.origin];
  const tokenExport = {
    env: 'export PINGER_TOKEN="$PINGER_ADMIN_TOKEN"',
    generated: `export PINGER_TOKEN=$(cat ${show(f.files.admin)})`,
    file: `export PINGER_TOKEN=$(cat ${show(f.files.admin)})`,
    unknown: 'export PINGER_TOKEN=<your admin token>',
  }[f.admin.origin];
  const sourceLine = {
    created: `local source "local" (${f.local.id}) created; its agent token is in ${show(f.files.agent)}`,
    rotated: `local source "local" (${f.local.id}): agent token renewed into ${show(f.files.agent)}`,
    file: `local source "local" (${f.local.id}), agent token from ${show(f.files.agent)}`,
  }[f.local.origin];
  const lines = [
    `pinger: control plane on ${f.url} (database ${show(f.dbPath)})`,
    `pinger: ${adminLine}`,
    `pinger: ${sourceLine}; the agent spools to ${show(f.files.spool)}`,
    ...(f.seeded.length > 0 ? [`pinger: added destinations ${f.seeded.join(' and ')}, every second`] : []),
    `pinger: dashboard on ${f.localUrl}/ (sign in with the admin token)`,
    '',
    'In another shell, in this directory:',
    `  ${tokenExport}`,
    ...(f.localUrl === DEFAULT_URL ? [] : [`  export PINGER_URL=${f.localUrl}`]),
    '  npx pinger results --limit 10',
    '  npx pinger dest add 127.0.0.2 --protocol tcp --port 22 --interval 500',
    '  npx pinger dest list',
    '',
    'Ctrl-C stops the agent, then the control plane.',
    '',
  ];
  return lines.join('\n');
}
