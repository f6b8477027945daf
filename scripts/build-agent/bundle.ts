/**
 * Bundles the agent's entry into one CommonJS file for the Node the artifact embeds (a single executable's main
 * is CommonJS). Refuses modules the agent must never carry (SQLite, the AWS SDK, the control plane) and native
 * addons it has no loader for.
 */
import { relative, resolve, sep } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { nativeAddons, type ResolvedAddons } from './native-addons.js';

/** Inputs that mean the agent bundle pulled in server-side code. */
const FORBIDDEN: { pattern: RegExp; what: string }[] = [
  { pattern: /node_modules\/better-sqlite3\//, what: 'better-sqlite3' },
  { pattern: /node_modules\/@aws-sdk\//, what: 'the AWS SDK' },
  { pattern: /node_modules\/@smithy\//, what: 'the AWS SDK' },
  { pattern: /^control-plane\//, what: 'the control plane' },
];

/** A build step failed; the message names the step and what to do. */
export class AgentBuildError extends Error {
  override name = 'AgentBuildError';
}

export interface BundleOptions {
  /** Repository root (esbuild's working directory: metafile paths are relative to it). */
  root: string;
  entry: string;
  outfile: string;
  /** The Node version the bundle runs on, e.g. `v24.22.3`: esbuild's target. */
  node: string;
}

export interface Bundle {
  metafile: Metafile;
  /** The native addons the bundle loads from beside the executable, and where each was built. */
  addons: ResolvedAddons;
}

/** Writes the bundle; returns its metafile and the native addons to ship beside it. */
export async function bundleAgent(options: BundleOptions): Promise<Bundle> {
  const addons: ResolvedAddons = new Map();
  const bundling = build({
    absWorkingDir: options.root,
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: 'node',
    target: `node${options.node.replace(/^v/, '')}`,
    format: 'cjs',
    metafile: true,
    keepNames: true,
    logLevel: 'warning',
    // CommonJS has no import.meta; give code that asks for its own URL the bundle's file.
    banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__importMetaUrl' },
    plugins: [nativeAddons(options.root, addons)],
    // The rollups' sketch library requires it only inside toProto/fromProto. The agent never reaches that
    // library; an entry that wrongly does should fail the FORBIDDEN check below, which names the import chain,
    // not on an unresolved optional import.
    external: ['protobufjs/minimal'],
  });
  const result = await bundling.catch((cause: unknown) => {
    throw new AgentBuildError(
      `[build:agent] esbuild could not bundle ${options.entry}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  });
  // Metafile paths are relative to the working directory, with forward slashes.
  const entryKey = relative(options.root, resolve(options.root, options.entry)).split(sep).join('/');
  for (const { pattern, what } of FORBIDDEN) {
    const bad = Object.keys(result.metafile.inputs).find((input) => pattern.test(input));
    if (bad) {
      throw new AgentBuildError(
        `[build:agent] the agent bundle must not include ${what}, but it does: ${importChain(result.metafile, entryKey, bad).join(' → ')}`,
      );
    }
  }
  return { metafile: result.metafile, addons };
}

/** The shortest import chain from `entry` to `target`, for an error that says where to cut. */
export function importChain(metafile: Metafile, entry: string, target: string): string[] {
  const previous = new Map<string, string>([[entry, '']]);
  const queue = [entry];
  for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
    if (node === target) break;
    for (const { path } of metafile.inputs[node]?.imports ?? []) {
      if (previous.has(path)) continue;
      previous.set(path, node);
      queue.push(path);
    }
  }
  if (!previous.has(target)) return [target];
  const chain: string[] = [];
  for (let node = target; node !== ''; node = previous.get(node) ?? '') chain.unshift(node);
  return chain;
}
