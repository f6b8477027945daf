/**
 * Compiles the agent's native addons for the Node the artifact embeds: node-gyp with `--nodedir` pointing at that
 * Node's package (its own headers and build settings, so nothing is downloaded), each in a copy of the addon's
 * sources under the build's scratch directory. The builds `npm ci` made in place for the machine's Node (which the
 * tests, the CLI and the control plane load) are left as they are.
 */
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, delimiter, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { AgentBuildError } from './bundle.js';
import { NATIVE_ADDONS, type ResolvedAddons } from './native-addons.js';
import type { NodeRuntime } from './node-runtime.js';

const run = promisify(execFile);

/** What node-gyp prints can be long (compiler warnings from V8's headers): keep it all for the error. */
const MAX_OUTPUT = 16 * 1024 * 1024;

/**
 * Builds every addon of {@link NATIVE_ADDONS} that the bundle loads, for `runtime`, under `workDir`; returns file
 * name → the built `.node`. Each is loaded once by the runtime's `node`, so an addon that does not fit that Node
 * fails the build here rather than on a user's host.
 */
export async function compileAddons(
  resolved: ResolvedAddons,
  runtime: NodeRuntime,
  workDir: string,
): Promise<Map<string, string>> {
  const nodeGyp = await findNodeGyp();
  const built = new Map<string, string>();
  for (const addon of NATIVE_ADDONS) {
    const found = resolved.get(addon.file);
    if (!found) {
      // install.sh insists on every table file: a stale entry would make it ship and require a useless file.
      throw new AgentBuildError(
        `[build:agent] the agent bundle no longer loads ${addon.what} (${addon.file}): remove it from NATIVE_ADDONS and packaging/install.sh`,
      );
    }
    const dir = join(workDir, 'addons', basename(addon.file, '.node'));
    // The sources only: not the in-place build for the machine's Node, nor a nested node_modules.
    await cp(found.sourceDir, dir, {
      recursive: true,
      filter: (path) => !['build', 'node_modules'].includes(relative(found.sourceDir, path).split(sep)[0]!),
    });
    await step(
      `compile ${addon.what} for Node ${runtime.version}`,
      process.execPath,
      [nodeGyp, 'rebuild', `--nodedir=${runtime.dir}`, '--release', `--directory=${dir}`],
      {
        ...process.env,
        npm_config_nodedir: runtime.dir,
        // binding.gyp may ask node for an include path (raw-socket: `require('nan')`); the copy must resolve it
        // from where the sources came from.
        NODE_PATH: [
          ...(createRequire(join(found.sourceDir, 'binding.gyp')).resolve.paths('a-package') ?? []),
          process.env.NODE_PATH,
        ]
          .filter(Boolean)
          .join(delimiter),
      },
    );
    const file = join(dir, addon.request);
    await step(`load ${addon.what} in Node ${runtime.version}`, runtime.node, [
      '-e',
      'process.dlopen({ exports: {} }, process.argv[1])',
      file,
    ]);
    built.set(addon.file, file);
  }
  return built;
}

/**
 * The node-gyp that npm itself runs for install scripts (the one that built the addons for the machine's Node):
 * npm names it in `npm_config_node_gyp` for its scripts, and `npm config get node-gyp` tells it otherwise.
 */
async function findNodeGyp(): Promise<string> {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm) return fromNpm;
  try {
    const { stdout } = await run('npm', ['config', 'get', 'node-gyp'], { timeout: 30_000 });
    const path = stdout.trim();
    if (path && path !== 'undefined') return path;
  } catch (cause) {
    throw new AgentBuildError('[build:agent] cannot find node-gyp: `npm config get node-gyp` failed', {
      cause,
    });
  }
  throw new AgentBuildError('[build:agent] cannot find node-gyp: `npm config get node-gyp` names none');
}

async function step(what: string, file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  try {
    await run(file, args, { env, maxBuffer: MAX_OUTPUT, timeout: 300_000 });
  } catch (cause) {
    const { stdout, stderr } = cause as { stdout?: string; stderr?: string };
    // The compiler's errors are at the end of what node-gyp printed; the start is configuration chatter.
    const output = `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new AgentBuildError(`[build:agent] could not ${what}${output ? `:\n${output}` : ''}`, { cause });
  }
}
