/**
 * sst.config.ts evaluated with a recording stand-in for the SST globals (the SST CLI cannot run here: it
 * downloads its Pulumi engine), then checked against the code it deploys: the handler exists and exports
 * `handler`, the table is the one the store works on, and the links are the names `lambda.ts` reads.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoStore } from '../../../control-plane/store/dynamodb/dynamodb.js';
import { PINGER_TABLE } from '../../../control-plane/store/dynamodb/schema.js';
import { WEB_DIST } from '../../../control-plane/web-assets-load.js';
import { buildWeb } from '../../../scripts/build-web/build.js';
import { type DynaliteServer, startDynalite, type TableDefinition } from '../../helpers/dynalite.js';
import { destinationInput, resultInput, sourceInput, TIMED_OUT } from '../../helpers/factories.js';
import { type LambdaResult, lambdaContext, lambdaEvent, resultBody } from '../../helpers/lambda-events.js';

const root = join(import.meta.dirname, '../../..');
const execFileAsync = promisify(execFile);

interface Recorded {
  kind: 'Dynamo' | 'Function' | 'Secret' | 'Cron';
  name: string;
  args: Record<string, unknown>;
}

/** Installs the stand-in globals for `stage` and returns what the config creates. */
function standIn(stage: string) {
  const recorded: Recorded[] = [];
  const component = (kind: Recorded['kind']) =>
    class {
      constructor(
        readonly name: string,
        readonly args: Record<string, unknown> = {},
      ) {
        recorded.push({ kind, name, args });
      }
      get url() {
        return `https://${this.name.toLowerCase()}.lambda-url.invalid/`;
      }
    };
  // Anything the stand-in does not know fails loudly, so a new resource type gets checked here too.
  const strict = <T extends object>(what: string, target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (typeof prop === 'string' && !(prop in t)) throw new Error(`stand-in has no ${what}.${prop}`);
        return Reflect.get(t, prop);
      },
    });
  Object.assign(globalThis, {
    $config: (config: unknown) => config,
    $app: { name: 'pinger', stage },
    sst: strict('sst', {
      Secret: component('Secret'),
      aws: strict('sst.aws', {
        Dynamo: component('Dynamo'),
        Function: component('Function'),
        Cron: component('Cron'),
      }),
    }),
  });
  return recorded;
}

async function evaluate(stage: string) {
  vi.resetModules();
  const recorded = standIn(stage);
  const config = (await import('../../../sst.config.js')).default as {
    app(input: { stage: string }): Record<string, unknown>;
    run(): Promise<Record<string, unknown>>;
  };
  const outputs = await config.run();
  return { config, recorded, outputs };
}

let dynalite: DynaliteServer;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite?.close();
});

describe('sst.config.ts', () => {
  it('names the app, deploys to AWS, and retains only the production stage on removal', async () => {
    const { config } = await evaluate('production');
    expect(config.app({ stage: 'production' })).toMatchObject({
      name: 'pinger',
      home: 'aws',
      removal: 'retain',
      protect: true,
    });
    expect(config.app({ stage: 'dev' })).toMatchObject({ removal: 'remove', protect: false });
  });

  it('declares one table, one secret, one function that links both and its schedule, and outputs the URL', async () => {
    const { recorded, outputs } = await evaluate('production');
    expect(recorded.map((r) => `${r.kind}:${r.name}`).sort()).toEqual([
      'Cron:PingerMaintenance',
      'Dynamo:PingerTable',
      'Function:PingerApi',
      'Secret:PingerAdminToken',
    ]);
    const fn = recorded.find((r) => r.kind === 'Function')!;
    const links = (fn.args.link as { name: string }[]).map((l) => l.name).sort();
    expect(links).toEqual(['PingerAdminToken', 'PingerTable']);
    expect(fn.args).toMatchObject({ url: true, runtime: expect.stringMatching(/^nodejs2[024]\.x$/) });
    expect(outputs.url).toBe('https://pingerapi.lambda-url.invalid/');
  });

  it('schedules the rollups maintenance from the same module, with the same links and settings', async () => {
    const { recorded } = await evaluate('production');
    const api = recorded.find((r) => r.kind === 'Function')!.args;
    const cron = recorded.find((r) => r.kind === 'Cron')!.args as {
      schedule: string;
      function: Record<string, unknown>;
    };
    expect(cron.schedule).toMatch(/^rate\(\d+ minutes?\)$/);
    const fn = cron.function;
    expect(fn.handler).toBe('control-plane/lambda.maintenance');
    expect((fn.link as { name: string }[]).map((l) => l.name).sort()).toEqual([
      'PingerAdminToken',
      'PingerTable',
    ]);
    expect(fn.environment).toEqual(api.environment);
    expect(fn.nodejs).toEqual(api.nodejs);
    // The module booted with these links runs it: see the next-but-one case.
  });

  it('gives the function time for a whole long-poll', async () => {
    const { recorded } = await evaluate('production');
    const { LAMBDA_MAX_WAIT_SECONDS } = await import('../../../control-plane/lambda-limits.js');
    const fn = recorded.find((r) => r.kind === 'Function')!;
    const match = /^(\d+) seconds?$/.exec(String(fn.args.timeout));
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(LAMBDA_MAX_WAIT_SECONDS + 5);
  });

  it('defines the table exactly as the store uses it, protected in production only', async () => {
    const production = (await evaluate('production')).recorded.find((r) => r.kind === 'Dynamo')!;
    expect(production.args).toMatchObject({
      fields: PINGER_TABLE.fields,
      primaryIndex: PINGER_TABLE.primaryIndex,
      ttl: PINGER_TABLE.ttl,
    });
    expect(Object.keys(production.args.globalIndexes as object).sort()).toEqual(
      Object.keys(PINGER_TABLE.globalIndexes).sort(),
    );
    const transform = (production.args.transform as { table(args: Record<string, unknown>): void }).table;
    const prodArgs: Record<string, unknown> = {};
    transform(prodArgs);
    expect(prodArgs).toMatchObject({
      billingMode: 'PAY_PER_REQUEST',
      deletionProtectionEnabled: true,
      pointInTimeRecovery: { enabled: true },
    });
    const dev = (await evaluate('dev')).recorded.find((r) => r.kind === 'Dynamo')!;
    const devArgs: Record<string, unknown> = {};
    (dev.args.transform as { table(args: Record<string, unknown>): void }).table(devArgs);
    expect(devArgs).toEqual({ billingMode: 'PAY_PER_REQUEST' });
  });

  it('declares a table the store works on: every index it queries and the TTL attribute it writes', async () => {
    const { recorded } = await evaluate('production');
    const args = recorded.find((r) => r.kind === 'Dynamo')!.args as unknown as TableDefinition & {
      ttl: string;
    };
    // The table SST would create from these arguments, on dynalite.
    const tableName = await dynalite.createTable('sst', args);
    const client = dynalite.client();
    const store = createDynamoStore({ tableName, client });
    const source = await store.createSource(sourceInput(), 'e'.repeat(64));
    const dst = await store.createDestination(destinationInput());
    // Sent now: results expire 14 days after they were sent.
    const r = resultInput(dst.id, { rtime: `${BigInt(Date.now()) * 1_000_000n}`, ...TIMED_OUT });
    await store.putResults({ id: source.id, location: 0, host: 0 }, [r]);
    // Compaction reads the rollups' time index: a pass two hours on finds the hour's fragment there.
    await store.stats!.prune(new Date(Date.now() + 2 * 3_600_000));
    const hour = await store.stats!.readStats({
      from: BigInt(r.rtime) - 3_600_000_000_000n,
      to: BigInt(r.rtime),
      step: 3_600,
      destination: dst.id,
    });
    expect(hour.series[0]?.points.reduce((n, p) => n + p.sent, 0)).toBe(1);
    // Each listing path: the table (by destination), and each global index.
    for (const filter of [{ destination: dst.id }, { source: source.id }, {}]) {
      expect((await store.listResults({ limit: 10, ...filter })).results).toHaveLength(1);
    }
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const items = (await client.send(new ScanCommand({ TableName: tableName }))).Items ?? [];
    const result = items.find((i) => i.pk?.S === `R#${dst.id}`)!;
    expect(Number(result[args.ttl]?.N)).toBeGreaterThan(Date.now() / 1000);
    await store.close();
  });

  it('points the function at a module that exports `handler` and reads the links it is given', async () => {
    const { recorded } = await evaluate('production');
    const fn = recorded.find((r) => r.kind === 'Function')!;
    const [file, exported] = String(fn.args.handler).split(/\.(?=[^.]+$)/) as [string, string];
    expect(existsSync(join(root, `${file}.ts`))).toBe(true);

    // Boot the handler the way Lambda would with these links: SST_RESOURCE_<name> for each linked resource.
    const tableName = await dynalite.createTable('linked');
    const secret = `linked-admin-secret-${crypto.randomUUID()}`;
    for (const link of fn.args.link as { name: string }[]) {
      const kind = recorded.find((r) => r.name === link.name)!.kind;
      process.env[`SST_RESOURCE_${link.name}`] = JSON.stringify(
        kind === 'Secret'
          ? { value: secret, type: 'sst.sst.Secret' }
          : { name: tableName, type: 'sst.aws.Dynamo' },
      );
    }
    Object.assign(process.env, fn.args.environment as Record<string, string>, {
      SST_RESOURCE_App: JSON.stringify({ name: 'pinger', stage: 'production' }),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'dynalite',
      AWS_SECRET_ACCESS_KEY: 'dynalite',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      PINGER_LOG_LEVEL: 'silent',
    });
    vi.resetModules();
    const mod = (await import(join(root, `${file}.ts`))) as Record<string, unknown>;
    expect(typeof mod[exported]).toBe('function');
    const handler = mod[exported] as (event: unknown, context: unknown) => Promise<LambdaResult>;
    const res = await handler(
      lambdaEvent('function-url', {
        method: 'GET',
        url: '/v1/sources',
        headers: { authorization: `Bearer ${secret}` },
      }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(resultBody(res).toString())).toEqual({ sources: [] });
    // The scheduled maintenance entry of the same module: one compaction pass, nothing left over.
    const cron = (recorded.find((r) => r.kind === 'Cron')!.args.function as { handler: string }).handler;
    const maintenance = mod[cron.split(/\.(?=[^.]+$)/)[1]!] as () => Promise<unknown>;
    expect(await maintenance()).toEqual({ passes: 1, more: false });
  });

  it("bundles the handler as SST does, without the Node host's SQLite or the agent, and the bundle runs", async () => {
    const { recorded } = await evaluate('production');
    const fn = recorded.find((r) => r.kind === 'Function')!;
    const file = String(fn.args.handler).replace(/\.[^.]+$/, '.ts');
    const nodejs = fn.args.nodejs as { esbuild?: { external?: string[] } } | undefined;
    // The options SST v3 builds Node functions with (its pkg/runtime/node/build.go): ESM, esnext, module-first
    // resolution, and a banner giving CommonJS dependencies `require`, `__filename` and `__dirname`.
    const options: BuildOptions & { metafile: true } = {
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'esnext',
      mainFields: ['module', 'main'],
      keepNames: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
      // Native addons are loaded from disk, never bundled; and what the function's own esbuild options leave out.
      external: ['*.node', ...(nodejs?.esbuild?.external ?? [])],
      banner: {
        js: [
          "import { createRequire as bannerCreateRequire } from 'module';",
          'const require = bannerCreateRequire(import.meta.url);',
          "import { fileURLToPath as bannerFileUrlToPath } from 'url';",
          'const __filename = bannerFileUrlToPath(import.meta.url);',
          "const __dirname = bannerFileUrlToPath(new URL('.', import.meta.url));",
        ].join('\n'),
      },
    };
    const out = await build({ ...options, entryPoints: [join(root, file)] });
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((i) => i.includes('control-plane/store/dynamodb/dynamodb.ts'))).toBe(true);
    const hostOnly =
      /(^|\/)node_modules\/(better-sqlite3|raw-socket)\/|^control-plane\/store\/sqlite|^agent\//;
    expect(inputs.filter((i) => hostOnly.test(i))).toEqual([]);
    // The check itself would see them: the Node host's entry does pull in SQLite.
    const host = await build({ ...options, entryPoints: [join(root, 'control-plane/node.ts')] });
    expect(Object.keys(host.metafile.inputs).some((i) => hostOnly.test(i))).toBe(true);

    // The bundle runs on its own, as Lambda loads it: a fresh Node process with only the bundle, the files the
    // function's copyFiles ship (the dashboard's build, where lambda.ts reads it) and the links.
    const copies = fn.args.copyFiles as { from: string; to: string }[];
    expect(copies).toEqual([{ from: WEB_DIST, to: WEB_DIST }]);
    const dir = mkdtempSync(join(tmpdir(), 'pinger-bundle-'));
    try {
      await buildWeb({ root, outDir: join(dir, copies[0]!.to) });
      const bundle = join(dir, 'lambda.mjs');
      writeFileSync(bundle, out.outputFiles![0]!.contents);
      const tableName = await dynalite.createTable('bundle');
      const secret = `bundle-admin-secret-${crypto.randomUUID()}`;
      const event = lambdaEvent('function-url', {
        method: 'GET',
        url: '/v1/sources',
        headers: { authorization: `Bearer ${secret}` },
      });
      const page = lambdaEvent('function-url', {
        method: 'GET',
        url: '/',
        headers: { 'accept-encoding': 'gzip' },
      });
      const script = `const { handler } = await import(${JSON.stringify(bundle)});
        const res = await handler(${JSON.stringify(event)}, { awsRequestId: 'bundle' });
        const page = await handler(${JSON.stringify(page)}, { awsRequestId: 'page' });
        process.stdout.write(JSON.stringify([res, page]));`;
      // Asynchronously: dynalite answers from this very process.
      const child = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 20_000,
        env: {
          PATH: process.env.PATH,
          LAMBDA_TASK_ROOT: dir,
          SST_RESOURCE_App: JSON.stringify({ name: 'pinger', stage: 'production' }),
          SST_RESOURCE_PingerTable: JSON.stringify({ name: tableName }),
          SST_RESOURCE_PingerAdminToken: JSON.stringify({ value: secret }),
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'dynalite',
          AWS_SECRET_ACCESS_KEY: 'dynalite',
          AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
          PINGER_LOG_LEVEL: 'silent',
        },
      });
      expect(child.stderr).not.toMatch(/Error/);
      const [res, served] = JSON.parse(child.stdout) as [LambdaResult, LambdaResult];
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(resultBody(res).toString())).toEqual({ sources: [] });
      // The dashboard, gzipped and so base64 through the Function URL, as the browser gets it.
      expect(served.statusCode).toBe(200);
      expect(served.headers?.['content-encoding']).toBe('gzip');
      expect(served.isBase64Encoded).toBe(true);
      expect(gunzipSync(resultBody(served)).toString()).toMatch(/<script type="module" src="\/assets\/app-/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
