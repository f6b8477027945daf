/**
 * esbuild plugin: a native addon cannot live inside a single executable, so the bundle loads each one the agent
 * needs from the directory of the running binary instead (`raw.node` and `pinger_native.node` beside
 * `pinger-agent`). Run as a plain script (`node pinger-agent.cjs`), the bundle looks beside itself.
 *
 * The addons are a fixed table: a `.node` file required from anywhere else fails the build rather than shipping a
 * binary that cannot load it. The plugin records where each addon's sources are (the folder with its binding.gyp),
 * so that the build compiles them for the Node the artifact embeds (compile-addons.ts), not for the one running it.
 */
import { relative, sep } from 'node:path';
import type { Plugin } from 'esbuild';

/** A native addon the agent bundle loads from beside the executable. */
export interface NativeAddon {
  /** The file name it ships under, next to the executable. */
  file: string;
  /** What it is, for error messages. */
  what: string;
  /** The module that requires it, relative to the repository root (forward slashes). */
  importer: RegExp;
  /** The exact string that module passes to `require`: the addon's path under its binding.gyp's folder. */
  request: string;
}

/** Every native addon in the agent; the artifact ships each beside the binary. */
export const NATIVE_ADDONS: readonly NativeAddon[] = [
  {
    file: 'raw.node',
    what: 'the raw socket addon (raw-socket)',
    importer: /(^|\/)node_modules\/raw-socket\/[^/]+$/,
    request: './build/Release/raw.node',
  },
  {
    file: 'pinger_native.node',
    what: 'the kernel receive timestamp addon (agent/native)',
    importer: /^agent\/native\/index\.cjs$/,
    request: './build/Release/pinger_native.node',
  },
];

/**
 * The addons the bundle references: file name → the folder of the module that requires it, which holds the
 * addon's binding.gyp (`request` is relative to it).
 */
export type ResolvedAddons = Map<string, { addon: NativeAddon; sourceDir: string }>;

const NAMESPACE = 'pinger-native-addon';

/**
 * CommonJS, evaluated inside the bundle in place of the addon. `process.dlopen` is what `require` does for a
 * `.node` file; a single executable's `require` only reaches built-in modules, so it is called directly.
 */
function loaderSource(addon: NativeAddon): string {
  return `
const path = require('node:path');
const { isSea } = require('node:sea');
const file = path.join(isSea() ? path.dirname(process.execPath) : __dirname, ${JSON.stringify(addon.file)});
try {
  process.dlopen(module, file);
} catch (cause) {
  const err = new Error(
    ${JSON.stringify(`[agent] cannot load ${addon.what} `)} + file + ': it must sit beside the pinger-agent binary (' +
      (cause && cause.message) + ')',
    { cause },
  );
  err.name = 'AddonLoadError';
  throw err;
}
`;
}

/**
 * Replaces each table addon's `require` with {@link loaderSource} and refuses every other `.node` file. Records
 * in `resolved` where each addon's sources are, so the build compiles exactly the addons the bundle loads.
 */
export function nativeAddons(root: string, resolved: ResolvedAddons = new Map()): Plugin {
  return {
    name: 'native-addons',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => {
        const importer = relative(root, args.importer).split(sep).join('/');
        const addon = NATIVE_ADDONS.find((a) => a.request === args.path && a.importer.test(importer));
        if (!addon) {
          // Bundled as bytes or left to a `require` that cannot reach it: either way a binary that fails later.
          return {
            errors: [
              {
                text: `native addon ${args.path} (from ${importer}) has no loader in the agent bundle: add it to NATIVE_ADDONS in scripts/build-agent/native-addons.ts and to packaging/install.sh`,
              },
            ],
          };
        }
        resolved.set(addon.file, { addon, sourceDir: args.resolveDir });
        return { path: addon.file, namespace: NAMESPACE, pluginData: addon };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: loaderSource(args.pluginData as NativeAddon),
        loader: 'js',
      }));
    },
  };
}
