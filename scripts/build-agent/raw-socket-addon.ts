/**
 * esbuild plugin: raw-socket's native addon cannot live inside a single executable, so the bundle loads it from
 * the directory of the running binary instead (`raw.node` beside `pinger-agent`). Run as a plain script (`node
 * pinger-agent.cjs`), the bundle looks beside itself.
 */
import type { Plugin } from 'esbuild';

/** The file name the addon ships under, next to the executable. */
export const ADDON_FILE = 'raw.node';

const NAMESPACE = 'pinger-native-addon';

// CommonJS, evaluated inside the bundle. `process.dlopen` is what `require` does for a `.node` file; a single
// executable's `require` only reaches built-in modules, so it is called directly.
const LOADER = `
const path = require('node:path');
const { isSea } = require('node:sea');
const file = path.join(isSea() ? path.dirname(process.execPath) : __dirname, ${JSON.stringify(ADDON_FILE)});
try {
  process.dlopen(module, file);
} catch (cause) {
  const err = new Error(
    '[agent] cannot load the raw socket addon ' + file + ': it must sit beside the pinger-agent binary (' +
      (cause && cause.message) + ')',
    { cause },
  );
  err.name = 'AddonLoadError';
  throw err;
}
`;

/** Replaces raw-socket's `require("./build/Release/raw.node")` with {@link LOADER}. */
export function rawSocketAddon(): Plugin {
  return {
    name: 'raw-socket-addon',
    setup(build) {
      build.onResolve({ filter: /[\\/]build[\\/]Release[\\/]raw(\.node)?$/ }, (args) => {
        // Only raw-socket's own addon; any other native module must fail the build, not load by accident.
        if (!/[\\/]node_modules[\\/]raw-socket[\\/]/.test(args.importer)) return undefined;
        return { path: ADDON_FILE, namespace: NAMESPACE };
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: LOADER, loader: 'js' }));
      // A `.node` file reached any other way would be bundled as garbage or fail at run time: refuse it here.
      build.onResolve({ filter: /\.node$/ }, (args) => ({
        errors: [
          { text: `native addon ${args.path} (from ${args.importer}) has no loader in the agent bundle` },
        ],
      }));
    },
  };
}
