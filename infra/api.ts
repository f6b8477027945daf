/**
 * The control plane function behind a Function URL: agents and the CLI talk to the printed URL. A Function URL,
 * not API Gateway: no 30 s cap on top of the 20 s long-poll, and no per-request API Gateway charge.
 */
import { adminToken } from './secret.js';
import { table } from './table.js';

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
  environment: {
    // Retention per kind (raw=14d,minute=60d,hour=2y,day=forever unless set at deploy time); TTL applies it.
    PINGER_RETENTION: process.env.PINGER_RETENTION ?? '',
    PINGER_LOG_LEVEL: 'info',
  },
  logging: { retention: '1 month', format: 'json' },
  nodejs: {
    // @datadog/sketches-js requires protobufjs only inside toProto/fromProto, which the rollups never call (they
    // encode sketches themselves, control-plane/rollup/sketch.ts); the package does not depend on it either.
    esbuild: { external: ['protobufjs/minimal'] },
  },
});
