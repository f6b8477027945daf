/**
 * dynalite (a DynamoDB emulator on LevelDB in memory) served in-process on 127.0.0.1, with tables created from
 * the same definition `infra/table.ts` deploys (`PINGER_TABLE`), so the tests and the deployment cannot drift.
 */

import type { IncomingMessage, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PINGER_TABLE } from '../../control-plane/store/dynamodb/schema.js';

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
  /** Creates a fresh table (the Pinger layout unless told otherwise) under a unique name; returns the name. */
  createTable(prefix?: string, table?: TableDefinition): Promise<string>;
  close(): Promise<void>;
}

/** A table as `sst.aws.Dynamo` takes it (the subset Pinger uses). */
export interface TableDefinition {
  fields: Readonly<Record<string, 'string' | 'number' | 'binary'>>;
  primaryIndex: { hashKey: string; rangeKey?: string };
  globalIndexes?: Readonly<Record<string, { hashKey: string; rangeKey?: string; projection?: unknown }>>;
}

const keySchema = (index: { hashKey: string; rangeKey?: string }) => [
  { AttributeName: index.hashKey, KeyType: 'HASH' as const },
  ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: 'RANGE' as const }] : []),
];

/**
 * The CreateTable request SST makes from a `sst.aws.Dynamo` definition: on-demand, every index projecting all
 * attributes (SST's default, and the only projection the store relies on).
 */
export function createTableInput(
  tableName: string,
  table: TableDefinition = PINGER_TABLE,
): CreateTableCommandInput {
  const type = { string: 'S', number: 'N', binary: 'B' } as const;
  for (const [name, index] of Object.entries(table.globalIndexes ?? {})) {
    if (index.projection !== undefined && index.projection !== 'all') {
      throw new Error(`index ${name}: projection ${String(index.projection)} is not supported here`);
    }
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: Object.entries(table.fields).map(([AttributeName, t]) => ({
      AttributeName,
      AttributeType: type[t],
    })),
    KeySchema: keySchema(table.primaryIndex),
    GlobalSecondaryIndexes: Object.entries(table.globalIndexes ?? {}).map(([IndexName, index]) => ({
      IndexName,
      KeySchema: keySchema(index),
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}

/** Starts dynalite on a free loopback port. Close it in `afterAll`. */
export async function startDynalite(): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // Node closes an idle keep-alive socket after 5 s, racing the SDK reusing it (ECONNRESET with maxAttempts 1):
  // the clients here are the only ones, so the server keeps idle sockets for as long as a test file runs.
  server.keepAliveTimeout = 10 * 60_000;
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
    async createTable(prefix = 'pinger', table = PINGER_TABLE) {
      const name = `${prefix}-${process.pid}-${++tables}`;
      await admin.send(new CreateTableCommand(createTableInput(name, table)));
      return name;
    },
    async close() {
      for (const c of clients) c.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
