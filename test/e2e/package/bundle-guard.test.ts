/**
 * The agent build refuses server-side code: an entry that reaches SQLite fails the bundle with the import chain
 * to cut, instead of shipping a binary that drags better-sqlite3 (and its native addon) along.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentBuildError, bundleAgent } from '../../../scripts/build-agent/bundle.js';
import { findNodeRuntime } from '../../../scripts/build-agent/node-runtime.js';
import { ROOT } from '../../helpers/pinger-process.js';

let dir: string;
/** The version of the Node the artifact embeds: the bundle's target. */
let node: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-bundle-guard-'));
  ({ version: node } = await findNodeRuntime(ROOT));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('refuses an entry that reaches SQLite, naming the import chain', async () => {
  const entry = join(dir, 'entry.ts');
  await writeFile(
    entry,
    `import { createSqliteStore } from ${JSON.stringify(join(ROOT, 'control-plane/store/sqlite/sqlite.ts'))};\n` +
      'console.log(createSqliteStore);\n',
  );
  const bundling = bundleAgent({ root: ROOT, entry, outfile: join(dir, 'out.cjs'), node });
  await expect(bundling).rejects.toBeInstanceOf(AgentBuildError);
  await expect(bundling).rejects.toThrow(
    /must not include better-sqlite3, but it does: \S*entry\.ts → control-plane\/store\/sqlite\/sqlite\.ts → node_modules\/better-sqlite3\//,
  );
});

it('bundles the agent entry itself, with a loader for each native addon and the folder each addon is built from', async () => {
  const { metafile, addons } = await bundleAgent({
    root: ROOT,
    entry: 'cli/agent-bin.ts',
    outfile: join(dir, 'agent.cjs'),
    node,
  });
  const inputs = Object.keys(metafile.inputs);
  expect(inputs).toContain('agent/main.ts');
  expect(inputs).toContain('node_modules/raw-socket/index.js');
  expect(inputs).toContain('agent/native/index.cjs');
  // The addons are not bundled: the loaders that find them beside the binary are.
  expect(inputs).toContain('pinger-native-addon:raw.node');
  expect(inputs).toContain('pinger-native-addon:pinger_native.node');
  expect(inputs.filter((input) => input.endsWith('.node')).sort()).toEqual([
    'pinger-native-addon:pinger_native.node',
    'pinger-native-addon:raw.node',
  ]);
  // The build compiles the addons the bundle was resolved against, from these folders (each has a binding.gyp).
  expect(Object.fromEntries([...addons].map(([file, { sourceDir }]) => [file, sourceDir]))).toEqual({
    'raw.node': join(ROOT, 'node_modules/raw-socket'),
    'pinger_native.node': join(ROOT, 'agent/native'),
  });
});

it('refuses a native addon it has no loader for, naming it and its importer', async () => {
  // Our own addon's request from another module: only agent/native/index.cjs may load it.
  const entry = join(dir, 'stray.cjs');
  await writeFile(
    entry,
    `module.exports = require(${JSON.stringify(join(ROOT, 'agent/native/build/Release/pinger_native.node'))});\n`,
  );
  const bundling = bundleAgent({ root: ROOT, entry, outfile: join(dir, 'stray.out.cjs'), node });
  await expect(bundling).rejects.toBeInstanceOf(AgentBuildError);
  await expect(bundling).rejects.toThrow(
    /native addon \S*pinger_native\.node \(from \S*stray\.cjs\) has no loader/,
  );
});
