/**
 * The agent build refuses server-side code: an entry that reaches SQLite fails the bundle with the import chain
 * to cut, instead of shipping a binary that drags better-sqlite3 (and its native addon) along.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentBuildError, bundleAgent } from '../../../scripts/build-agent/bundle.js';
import { ROOT } from '../../helpers/pinger-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-bundle-guard-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('refuses an entry that reaches SQLite, naming the import chain', async () => {
  const entry = join(dir, 'entry.ts');
  await writeFile(
    entry,
    `import { createSqliteStore } from ${JSON.stringify(join(ROOT, 'control-plane/store/sqlite.ts'))};\n` +
      'console.log(createSqliteStore);\n',
  );
  const bundling = bundleAgent({ root: ROOT, entry, outfile: join(dir, 'out.cjs') });
  await expect(bundling).rejects.toBeInstanceOf(AgentBuildError);
  await expect(bundling).rejects.toThrow(
    /must not include better-sqlite3, but it does: \S*entry\.ts → control-plane\/store\/sqlite\.ts → node_modules\/better-sqlite3\//,
  );
});

it('bundles the agent entry itself', async () => {
  const metafile = await bundleAgent({ root: ROOT, entry: 'agent/bin.ts', outfile: join(dir, 'agent.cjs') });
  const inputs = Object.keys(metafile.inputs);
  expect(inputs).toContain('agent/main.ts');
  expect(inputs).toContain('node_modules/raw-socket/index.js');
  // The addon is not bundled: the loader that finds it beside the binary is.
  expect(inputs).toContain('pinger-native-addon:raw.node');
});
