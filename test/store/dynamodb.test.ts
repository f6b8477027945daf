/** The store contract on dynalite, plus what only the DynamoDB backend promises. */
import { afterAll } from 'vitest';
import { createDynamoStore } from '../../control-plane/store/dynamodb.js';
import { type DynaliteServer, startDynalite } from '../helpers/dynalite.js';
import { testStore } from './contract.js';

let server: DynaliteServer | undefined;
const dynamo = async () => {
  server ??= await startDynalite();
  return server;
};
afterAll(async () => {
  await server?.close();
});

testStore('dynamodb', async () => {
  const s = await dynamo();
  const store = createDynamoStore({
    tableName: await s.createTable(),
    client: s.client(),
    touchIntervalMs: 0,
  });
  return { store, cleanup: () => store.close() };
});
