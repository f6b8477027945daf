/**
 * Builds the installable agent: bundle → single executable → a directory with the binary, its native addons
 * beside it (raw.node, pinger_native.node), the installer and the systemd unit → a tar.gz with its SHA-256.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AgentBuildError, type Bundle, bundleAgent } from './bundle.js';
import { writeLicenses } from './licenses.js';
import { NATIVE_ADDONS } from './native-addons.js';
import { makeSingleExecutable } from './sea.js';

const run = promisify(execFile);

/** Files of packaging/ shipped in the artifact, with their modes. */
const PACKAGING: { file: string; mode: number }[] = [
  { file: 'install.sh', mode: 0o755 },
  { file: 'pinger-agent.service', mode: 0o644 },
  { file: 'agent.env.example', mode: 0o644 },
  { file: 'README.md', mode: 0o644 },
];

// Where Node's own license may be: the official tarball layout, then Debian/NodeSource packages.
const NODE_LICENSE_CANDIDATES = [
  join(dirname(process.execPath), '..', 'share', 'doc', 'node', 'LICENSE'),
  '/usr/share/doc/nodejs/LICENSE',
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
  binaryBytes: number;
  tarballBytes: number;
}

/** Builds the artifact for the platform this runs on (Linux; the name says the architecture). */
export async function buildAgent(options: BuildOptions): Promise<BuiltAgent> {
  const name = `pinger-agent-${process.platform}-${process.arch}`;
  const dir = join(options.outDir, name);
  const work = await mkdtemp(join(tmpdir(), 'pinger-agent-build-'));
  try {
    const bundle = join(work, 'pinger-agent.cjs');
    const { metafile, addons } = await bundleAgent({
      root: options.root,
      entry: 'cli/agent-bin.ts',
      outfile: bundle,
    });

    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    // Before the single executable, which takes seconds: an addon that is not built fails the build at once.
    await copyAddons(addons, dir);
    const binary = join(dir, 'pinger-agent');
    await makeSingleExecutable({ main: bundle, workDir: work, output: binary });

    for (const { file, mode } of PACKAGING) {
      await copyInto(join(options.root, 'packaging', file), join(dir, file), mode, `packaging/${file}`);
    }
    await writeLicenses(metafile, options.root, join(dir, 'THIRD_PARTY_LICENSES'));
    const license = await firstExisting(NODE_LICENSE_CANDIDATES);
    if (license) await copyInto(license, join(dir, 'LICENSE.node'), 0o644, "Node's license");

    await smokeTest(binary, options.root);

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
      binaryBytes: (await stat(binary)).size,
      tarballBytes: (await stat(tarball)).size,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Copies every addon of {@link NATIVE_ADDONS} into `dir`, from where the bundle found it. */
async function copyAddons(resolved: Bundle['addons'], dir: string): Promise<void> {
  for (const addon of NATIVE_ADDONS) {
    const found = resolved.get(addon.file);
    if (!found) {
      // install.sh insists on every table file: a stale entry would make it ship and require a useless file.
      throw new AgentBuildError(
        `[build:agent] the agent bundle no longer loads ${addon.what} (${addon.file}): remove it from NATIVE_ADDONS and packaging/install.sh`,
      );
    }
    try {
      await access(found.path);
    } catch (cause) {
      throw new AgentBuildError(
        `[build:agent] ${addon.what} is not built: ${found.path} is missing; run ${addon.build}`,
        { cause },
      );
    }
    await copyInto(found.path, join(dir, addon.file), 0o644, addon.what);
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

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {}
  }
  return undefined;
}

/** The binary must start and report the package's version, or the artifact is not worth shipping. */
async function smokeTest(binary: string, root: string): Promise<void> {
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  let stdout: string;
  try {
    ({ stdout } = await run(binary, ['--version'], { cwd: tmpdir(), timeout: 20_000 }));
  } catch (cause) {
    throw new AgentBuildError(`[build:agent] the built binary ${binary} does not start`, { cause });
  }
  if (stdout.trim() !== version) {
    throw new AgentBuildError(
      `[build:agent] ${binary} --version printed "${stdout.trim()}", expected ${version}`,
    );
  }
}
