/**
 * The rollups' maintenance on a schedule: a function that runs the store's compaction passes every 5 minutes
 * (control-plane/lambda.ts `maintenance`). On a Node host a timer does this; on Lambda nothing runs between
 * requests, and hours and days must be compacted while their minute rollups (60 days) still exist.
 */
import { environment, nodejs } from './api.js';
import { adminToken } from './secret.js';
import { table } from './table.js';

export const maintenance = new sst.aws.Cron('PingerMaintenance', {
  schedule: 'rate(5 minutes)',
  function: {
    handler: 'control-plane/lambda.maintenance',
    runtime: 'nodejs22.x',
    architecture: 'arm64',
    timeout: '60 seconds',
    memory: '256 MB',
    // The same module as the API: it reads the same links and settings at start.
    link: [table, adminToken],
    environment,
    logging: { retention: '1 month', format: 'json' },
    nodejs,
  },
});
