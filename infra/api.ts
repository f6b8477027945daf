/**
 * The control plane function behind a Function URL: agents and the CLI talk to the printed URL. A Function URL,
 * not API Gateway: no 30 s cap on top of the 20 s long-poll, and no per-request API Gateway charge.
 */
import { adminToken } from './secret.js';
import { table } from './table.js';

/** How SST bundles the control plane's functions. */
export const nodejs = {
  // @datadog/sketches-js requires protobufjs (an optional peer) only inside toProto/fromProto, which the
  // rollups never call (they write their own encoding): left out of the bundle rather than failing it.
  esbuild: { external: ['protobufjs/minimal'] },
};

/** Settings the function reads at start (the maintenance function's too: the same module). */
export const environment = {
  // Retention per kind (raw=14d,minute=60d,hour=2y,day=forever unless set at deploy time); TTL applies it.
  PINGER_RETENTION: process.env.PINGER_RETENTION ?? '',
  PINGER_LOG_LEVEL: 'info',
};

export const api = new sst.aws.Function('PingerApi', {
  handler: 'control-plane/lambda.handler',
  runtime: 'nodejs22.x',
  architecture: 'arm64',
  // A long-poll holds 20 s (LAMBDA_MAX_WAIT_SECONDS); the rest is room for the config read and a cold start.
  timeout: '30 seconds',
  // A long-poll is billed for the time it waits: memory is the price of every agent's every second (docs/deploy-aws.md).
  memory: '256 MB',
  url: true,
  link: [table, adminToken],
  // The dashboard's build (npm ci runs `build:web`), read by lambda.ts from the task root at cold start.
  copyFiles: [{ from: 'web/dist', to: 'web/dist' }],
  environment,
  logging: { retention: '1 month', format: 'json' },
  nodejs,
});
