/**
 * The control plane on AWS Lambda: the same app as on a Node host, over DynamoDB, behind a Function URL or an
 * API Gateway HTTP API (payload format 2.0). Only adapts: where the table and the admin token come from, and
 * the long-poll limits a Lambda needs.
 *
 * The table and the admin token come from SST links (`Resource.PingerTable.name`,
 * `Resource.PingerAdminToken.value`); a deployment without SST sets `PINGER_TABLE` and `PINGER_ADMIN_TOKEN`
 * instead. The DynamoDB client takes region and credentials from the Lambda environment as usual.
 * `PINGER_RETENTION` (`raw=14d,minute=60d,hour=2y`, as `pinger serve --retention`) sets how long each kind is
 * kept; DynamoDB's TTL applies it.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { handle } from 'hono/aws-lambda';
import pino from 'pino';
import { Resource } from 'sst/resource';
import { parseRetention, type Retention, RetentionError } from '../contract/index.js';
import { createApp } from './app.js';
import { MIN_ADMIN_TOKEN_LENGTH } from './auth.js';
import { LAMBDA_MAX_WAIT_SECONDS, LAMBDA_POLL_INTERVAL_MS } from './lambda-limits.js';
import { createDynamoStore } from './store/dynamodb/dynamodb.js';
import { loadWebAssets, WEB_DIST } from './web-assets-load.js';

/** The Lambda could not start: a link or setting is missing. Thrown at init, so it shows in the function's logs. */
export class LambdaConfigError extends Error {
  override name = 'LambdaConfigError';
}

/** A linked SST resource, or undefined when none is linked under that name. */
function linked<T>(name: string): T | undefined {
  try {
    return (Resource as unknown as Record<string, T>)[name];
  } catch {
    // The SST SDK throws for a name that is not linked; the environment may still provide the setting.
    return undefined;
  }
}

const tableName = linked<{ name: string }>('PingerTable')?.name ?? process.env.PINGER_TABLE;
const adminToken = linked<{ value: string }>('PingerAdminToken')?.value ?? process.env.PINGER_ADMIN_TOKEN;
if (!tableName) {
  throw new LambdaConfigError('[lambda] no table: link PingerTable (sst.config.ts) or set PINGER_TABLE');
}
if (!adminToken || adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
  throw new LambdaConfigError(
    `[lambda] the admin token must be set and at least ${MIN_ADMIN_TOKEN_LENGTH} characters: ` +
      '`npx sst secret set PingerAdminToken <token>` (or PINGER_ADMIN_TOKEN)',
  );
}

let retention: Retention | undefined;
try {
  retention = process.env.PINGER_RETENTION ? parseRetention(process.env.PINGER_RETENTION) : undefined;
} catch (err) {
  if (!(err instanceof RetentionError)) throw err;
  throw new LambdaConfigError(`[lambda] PINGER_RETENTION: ${err.message.replace(/^\[retention\] /, '')}`, {
    cause: err,
  });
}

// Created once per Lambda instance and reused by every invocation it serves.
const store = createDynamoStore({ tableName, retention });
const app = createApp({
  store,
  logger: pino({ name: 'pinger', level: process.env.PINGER_LOG_LEVEL ?? 'info' }),
  adminTokenHash: createHash('sha256').update(adminToken).digest('hex'),
  maxWaitSeconds: LAMBDA_MAX_WAIT_SECONDS,
  pollIntervalMs: LAMBDA_POLL_INTERVAL_MS,
  // infra/api.ts copies the build beside the bundled handler, under the task root (the working directory).
  web: loadWebAssets(join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), WEB_DIST)),
});

/** The Lambda entry: `control-plane/lambda.handler`. */
export const handler = handle(app);

/** Longest a maintenance run keeps passing (the function's timeout is 60 s). */
const MAINTENANCE_BUDGET_MS = 45_000;

/**
 * The scheduled entry (`control-plane/lambda.maintenance`, every 5 minutes, infra/maintenance.ts): compaction
 * passes of the rollups (the DynamoDB store's `prune`: TTL does the deleting) until none is left or the budget
 * is spent. Without it hours and days would be read from minute rollups, and lost once those expire.
 */
export async function maintenance(): Promise<{ passes: number; more: boolean }> {
  const started = Date.now();
  let passes = 0;
  let more = true;
  while (more && Date.now() - started < MAINTENANCE_BUDGET_MS) {
    more = (await store.stats!.prune(new Date())).more;
    passes++;
  }
  return { passes, more };
}
