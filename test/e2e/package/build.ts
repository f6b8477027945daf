/**
 * Builds the installable agent once for a test file: `npm run build:agent`'s script into a temporary directory,
 * then unpacks the tarball elsewhere, so tests run what a user downloads, not the build tree.
 */
import { chmod, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  /** What the build script printed. */
  log: string;
}

/** Runs the build (bounded: two minutes) and unpacks its tarball. */
export async function buildArtifact(): Promise<BuiltArtifact> {
  const work = await mkdtemp(join(tmpdir(), 'pinger-pkg-'));
  // Traversable by every user: one test runs the installed binary as nobody.
  await chmod(work, 0o755);
  const out = join(work, 'out');
  const { stdout } = await execOk(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'build-agent.ts'), '--out', out],
    { cwd: ROOT, timeoutMs: 120_000 },
  );
  const extract = join(work, 'unpacked');
  await mkdir(extract);
  await execOk('tar', ['-xzf', join(out, `${ARTIFACT}.tar.gz`), '-C', extract]);
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return { work, out, unpacked: join(extract, ARTIFACT), version, log: stdout };
}
