/**
 * Boots `control-plane/lambda.ts` the way Lambda does, in this test process: SST link variables for the table
 * and the admin secret (read by the `sst` SDK at import), the standard AWS variables, and the DynamoDB endpoint
 * pointed at dynalite. The handler module reads them once at import, so a test file boots it once.
 */
import type { DynaliteServer } from './dynalite.js';

export interface BootedLambda {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
  tableName: string;
  adminToken: string;
}

export async function bootLambda(dynalite: DynaliteServer): Promise<BootedLambda> {
  const tableName = await dynalite.createTable('lambda');
  const adminToken = `test-admin-secret-${crypto.randomUUID()}`;
  Object.assign(process.env, {
    SST_RESOURCE_App: JSON.stringify({ name: 'pinger', stage: 'test' }),
    SST_RESOURCE_PingerTable: JSON.stringify({ name: tableName, type: 'sst.aws.Dynamo' }),
    SST_RESOURCE_PingerAdminToken: JSON.stringify({ value: adminToken, type: 'sst.sst.Secret' }),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'dynalite',
    AWS_SECRET_ACCESS_KEY: 'dynalite',
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    PINGER_LOG_LEVEL: 'silent',
  });
  const { handler } = await import('../../control-plane/lambda.js');
  return { handler: handler as BootedLambda['handler'], tableName, adminToken };
}
