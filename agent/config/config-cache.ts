/**
 * The last agent config on disk, so that an agent restarting while the control plane is down keeps probing what
 * it probed before. Written atomically (temp file, fsync, rename, fsync of the directory): a crash leaves the old
 * file or the new one, never half of either. Read back through the contract schema: a damaged or foreign file is
 * ignored with a log line, never trusted.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as v from 'valibot';
import { AgentConfigSchema } from '../../contract/index.js';

const CachedConfigSchema = v.object({
  /** The ETag the control plane sent with this config, for If-None-Match after a restart. */
  etag: v.string(),
  savedAt: v.string(),
  config: AgentConfigSchema,
});
export type CachedConfig = v.InferOutput<typeof CachedConfigSchema>;

export interface CacheLogger {
  warn(obj: object, msg?: string): void;
}

/** The cached config, or undefined when there is none or it cannot be trusted. */
export async function loadConfigCache(path: string, logger?: CacheLogger): Promise<CachedConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger?.warn({ err, path }, '[agent:config-cache] cannot read the cached config; ignoring it');
    }
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = v.safeParse(CachedConfigSchema, json);
  if (!parsed.success) {
    logger?.warn({ path }, '[agent:config-cache] the cached config is damaged; ignoring it');
    return undefined;
  }
  return parsed.output;
}

/**
 * Replaces the cached config atomically, from the config's JSON text as the control plane sent it (already
 * validated by the caller): with thousands of destinations, re-serialising the parsed config costs milliseconds of
 * the event loop per change.
 */
export async function saveConfigCacheText(path: string, etag: string, configJson: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_TRUNC, 0o600);
  try {
    await fh.writeFile(
      `{"etag":${JSON.stringify(etag)},"savedAt":"${new Date().toISOString()}","config":${configJson}}`,
    );
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const d = await open(dir, constants.O_RDONLY);
  await d.sync().finally(() => d.close());
}
