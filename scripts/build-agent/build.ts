/**
 * Builds the installable agent on the Node it embeds (node-runtime.ts): bundle → native addons compiled for that
 * Node → single executable → a directory with the binary, its addons beside it (raw.node, pinger_native.node),
 * the installer and the systemd unit → a tar.gz with its SHA-256.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { AgentBuildError, bundleAgent } from './bundle.js';
import { compileAddons } from './compile-addons.js';
import { writeLicenses } from './licenses.js';
import { findNodeRuntime } from './node-runtime.js';
import { makeSingleExecutable } from './sea.js';

const run = promisify(execFile);

/** Files of packaging/ shipped in the artifact, with their modes. */
const PACKAGING: { file: string; mode: number }[] = [
  { file: 'install.sh', mode: 0o755 },
  { file: 'pinger-agent.service', mode: 0o644 },
  { file: 'agent.env.example', mode: 0o644 },
  { file: 'README.md', mode: 0o644 },
];

export interface BuildOptions {
  /** Repository root. */
  root: string;
  /** Directory the artifact directory and tarball go to (e.g. dist/agent). */
  outDir: string;
}

export interface BuiltAgent {
  /** The artifact directory, e.g. dist/agent/pinger-agent-linux-x64. */
  dir: string;
  binary: string;
  tarball: string;
  sha256: string;
  /** The embedded Node's version, e.g. `v24.22.3`. */
  node: string;
  binaryBytes: number;
  tarballBytes: number;
}

/** Builds the artifact for the platform this runs on, which must be one the embedded Node is pinned for. */
export async function buildAgent(options: BuildOptions): Promise<BuiltAgent> {
  const runtime = await findNodeRuntime(options.root);
  const name = `pinger-agent-${runtime.platform}`;
  const dir = join(options.outDir, name);
  const work = await mkdtemp(join(tmpdir(), 'pinger-agent-build-'));
  try {
    const bundle = join(work, 'pinger-agent.cjs');
    const { metafile, addons } = await bundleAgent({
      root: options.root,
      entry: 'cli/agent-bin.ts',
      outfile: bundle,
      node: runtime.version,
    });
    const compiled = await compileAddons(addons, runtime, work);

    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const [file, path] of compiled) await copyInto(path, join(dir, file), 0o644, file);
    const binary = join(dir, 'pinger-agent');
    await makeSingleExecutable({ main: bundle, workDir: work, output: binary, node: runtime.node });

    for (const { file, mode } of PACKAGING) {
      await copyInto(join(options.root, 'packaging', file), join(dir, file), mode, `packaging/${file}`);
    }
    await writeLicenses(metafile, options.root, join(dir, 'THIRD_PARTY_LICENSES'));
    await copyInto(runtime.license, join(dir, 'LICENSE.node'), 0o644, "Node's license");

    await smokeTest(binary, options.root, runtime.version);

    const tarball = join(options.outDir, `${name}.tar.gz`);
    await run('tar', [
      '-C',
      options.outDir,
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-czf',
      tarball,
      name,
    ]);
    const sha256 = createHash('sha256')
      .update(await readFile(tarball))
      .digest('hex');
    await writeFile(`${tarball}.sha256`, `${sha256}  ${basename(tarball)}\n`);
    return {
      dir,
      binary,
      tarball,
      sha256,
      node: runtime.version,
      binaryBytes: (await stat(binary)).size,
      tarballBytes: (await stat(tarball)).size,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function copyInto(from: string, to: string, mode: number, what: string): Promise<void> {
  try {
    await copyFile(from, to);
    await chmod(to, mode);
  } catch (cause) {
    throw new AgentBuildError(`[build:agent] cannot copy ${what} from ${from}`, { cause });
  }
}

/** The binary must start and report the package's version on the embedded Node, or it is not worth shipping. */
async function smokeTest(binary: string, root: string, node: string): Promise<void> {
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const expected = `pinger-agent ${version} (node ${node})`;
  let stdout: string;
  try {
    ({ stdout } = await run(binary, ['--version'], { cwd: tmpdir(), timeout: 20_000 }));
  } catch (cause) {
    throw new AgentBuildError(`[build:agent] the built binary ${binary} does not start`, { cause });
  }
  if (stdout.trim() !== expected) {
    throw new AgentBuildError(
      `[build:agent] ${binary} --version printed "${stdout.trim()}", expected "${expected}"`,
    );
  }
}
