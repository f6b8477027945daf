/**
 * The DynamoDB table: on-demand, TTL on `expireAt`, keys and indexes exactly as `dynamodb-schema.ts` defines them
 * for the store. In production it is protected from deletion and backed up continuously.
 */
import { PINGER_TABLE } from '../control-plane/store/dynamodb/schema.js';

const production = $app.stage === 'production';

export const table = new sst.aws.Dynamo('PingerTable', {
  fields: { ...PINGER_TABLE.fields },
  primaryIndex: { ...PINGER_TABLE.primaryIndex },
  globalIndexes: Object.fromEntries(
    Object.entries(PINGER_TABLE.globalIndexes).map(([name, index]) => [
      name,
      { ...index, projection: 'all' },
    ]),
  ),
  ttl: PINGER_TABLE.ttl,
  transform: {
    table(args) {
      // On-demand: no capacity to plan; agents' batches and long-polls are bursty.
      args.billingMode = 'PAY_PER_REQUEST';
      if (production) {
        args.deletionProtectionEnabled = true;
        args.pointInTimeRecovery = { enabled: true };
      }
    },
  },
});
