/**
 * Turns a CommonJS bundle into a Node single executable application: a copy of the embedded Node's binary (see
 * node-runtime.ts) with the bundle injected as the NODE_SEA_BLOB resource (`--experimental-sea-config` + postject).
 * That same binary prepares the blob: the blob's format and its code cache belong to one Node version.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { AgentBuildError } from './bundle.js';

const run = promisify(execFile);

/** The fuse Node's binary carries; postject flips it so the binary looks for the injected blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SeaOptions {
  /** The CommonJS bundle to embed. */
  main: string;
  /** Scratch directory for the config and the blob. */
  workDir: string;
  /** The executable to write. */
  output: string;
  /** The `node` binary to embed the bundle in; it also prepares the blob. */
  node: string;
}

/** Writes the executable at `options.output`, built from `options.node`. */
export async function makeSingleExecutable(options: SeaOptions): Promise<void> {
  if (process.platform !== 'linux') {
    throw new AgentBuildError(`[build:agent] builds Linux executables only, not on ${process.platform}`);
  }
  const config = join(options.workDir, 'sea-config.json');
  const blob = join(options.workDir, 'sea-prep.blob');
  await writeFile(
    config,
    JSON.stringify({
      main: relative(options.workDir, options.main),
      output: blob,
      disableExperimentalSEAWarning: true,
      // Compiled code in the blob: the agent starts faster and the bundle is parsed once, at build time.
      useCodeCache: true,
    }),
  );
  // Run where the bundle is, with a relative `main`: stack traces then name `pinger-agent.cjs`, not a temp path.
  await step('generate the SEA blob', options.node, ['--experimental-sea-config', config], options.workDir);
  await copyFile(options.node, options.output);
  await chmod(options.output, 0o755);
  await stripSymbols(options.output);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  // postject is a build tool: the Node running the build runs it.
  await step('inject the blob with postject', process.execPath, [
    postject,
    options.output,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    SEA_FUSE,
  ]);
}

/**
 * Drops the symbol and debug tables of the copied `node` (~13 % of its size; the fuse and the sections postject
 * needs stay). Without binutils the binary ships unstripped: bigger, equally correct.
 */
async function stripSymbols(binary: string): Promise<void> {
  try {
    await run('strip', ['--strip-all', binary]);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AgentBuildError(`[build:agent] strip failed on ${binary}`, { cause });
    }
    console.warn('[build:agent] strip (binutils) not found: the binary keeps its symbols');
  }
}

async function step(what: string, file: string, args: string[], cwd?: string): Promise<void> {
  try {
    await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new AgentBuildError(`[build:agent] could not ${what}${stderr ? `: ${stderr}` : ''}`, { cause });
  }
}
