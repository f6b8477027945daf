/**
 * dynalite (a DynamoDB emulator on LevelDB in memory) served in-process on 127.0.0.1, with tables created from
 * the same definition `infra/table.ts` deploys (`PINGER_TABLE`), so the tests and the deployment cannot drift.
 */

import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PINGER_TABLE } from '../../control-plane/store/dynamodb-schema.js';

type DynaliteFactory = (options: {
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

export interface DynaliteServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A client for this server (fake credentials: dynalite checks none). */
  client(): DynamoDBClient;
  /** Every operation served so far, in order (`GetItem`, `Query`, ...): lets a test see where a request is. */
  operations: string[];
  /** Creates a fresh table with the Pinger layout under a unique name and returns the name. */
  createTable(prefix?: string): Promise<string>;
  close(): Promise<void>;
}

/** The CreateTable request for the Pinger table: on-demand, every index projecting all attributes. */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const type = { string: 'S', number: 'N', binary: 'B' } as const;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: Object.entries(PINGER_TABLE.fields).map(([AttributeName, t]) => ({
      AttributeName,
      AttributeType: type[t],
    })),
    KeySchema: [
      { AttributeName: PINGER_TABLE.primaryIndex.hashKey, KeyType: 'HASH' },
      { AttributeName: PINGER_TABLE.primaryIndex.rangeKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: Object.entries(PINGER_TABLE.globalIndexes).map(([IndexName, index]) => ({
      IndexName,
      KeySchema: [
        { AttributeName: index.hashKey, KeyType: 'HASH' },
        { AttributeName: index.rangeKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

/** Starts dynalite on a free loopback port. Close it in `afterAll`. */
export async function startDynalite(): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const operations: string[] = [];
  server.on('request', (req: IncomingMessage) => {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') operations.push(target.split('.').pop()!);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  let tables = 0;
  const client = () => {
    const c = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'dynalite', secretAccessKey: 'dynalite' },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const admin = client();
  return {
    endpoint,
    operations,
    client,
    async createTable(prefix = 'pinger') {
      const name = `${prefix}-${process.pid}-${++tables}`;
      await admin.send(new CreateTableCommand(createTableInput(name)));
      return name;
    },
    async close() {
      for (const c of clients) c.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
