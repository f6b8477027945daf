/**
 * Builds the installable agent once for a test file: `npm run build:agent`'s script into a temporary directory,
 * then unpacks the tarball elsewhere, so tests run what a user downloads, not the build tree. The build runs on
 * the machine's Node; the artifact embeds the pinned one (scripts/build-agent/runtime).
 */
import { chmod, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNodeRuntime, type NodeRuntime } from '../../../scripts/build-agent/node-runtime.js';
import { execOk, ROOT } from '../../helpers/pinger-process.js';

export const ARTIFACT = `pinger-agent-${process.platform}-${process.arch}`;

export interface BuiltArtifact {
  /** Temporary directory holding everything below; the caller removes it. */
  work: string;
  /** Build output: the artifact directory, the tarball and its .sha256. */
  out: string;
  /** The tarball unpacked: `pinger-agent`, `raw.node`, `pinger_native.node`, `install.sh`, … */
  unpacked: string;
  version: string;
  /** The Node the artifact embeds, as installed for the build. */
  runtime: NodeRuntime;
  /** What the build script printed. */
  log: string;
}

/** Runs the build (bounded: four minutes, as it compiles the addons) and unpacks its tarball. */
export async function buildArtifact(): Promise<BuiltArtifact> {
  const work = await mkdtemp(join(tmpdir(), 'pinger-pkg-'));
  // Traversable by every user: one test runs the installed binary as nobody.
  await chmod(work, 0o755);
  const out = join(work, 'out');
  const { stdout } = await execOk(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'build-agent.ts'), '--out', out],
    { cwd: ROOT, timeoutMs: 240_000 },
  );
  const extract = join(work, 'unpacked');
  await mkdir(extract);
  await execOk('tar', ['-xzf', join(out, `${ARTIFACT}.tar.gz`), '-C', extract]);
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const runtime = await findNodeRuntime(ROOT);
  return { work, out, unpacked: join(extract, ARTIFACT), version, runtime, log: stdout };
}
