/**
 * Tokens `pinger up` keeps for the operator in its data directory: the server shows each token only once, so the
 * all-in-one mode writes them where only their owner can read them (mode 0600), like k3s keeps its node token.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';

/** The token in `path`, or undefined when the file does not exist. */
export async function readSecret(path: string): Promise<string | undefined> {
  try {
    const value = (await readFile(path, 'utf8')).trim();
    // Someone may have loosened it by hand; a token file is for its owner only.
    await chmod(path, 0o600);
    return value || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes `value` to `path` with mode 0600, atomically: a reader sees the old token or the new one. */
export async function writeSecret(path: string, value: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${value}\n`, { mode: 0o600, flag: 'w' });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
