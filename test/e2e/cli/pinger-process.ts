/**
 * The `pinger serve` the CLI end-to-end tests drive (URL and generated admin token read from its stdout), and a
 * one-shot CLI run that reads only the first line, as `| head -1` would.
 */
import { type Outcome, type PingerProcess, spawnPinger } from '../../helpers/pinger-process.js';

export interface ServeProcess {
  url: string;
  /** The admin token the first start generated and printed. */
  adminToken: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop: PingerProcess['stop'];
}

/** Starts `pinger serve --port 0 --db <db>` and waits (at most `readyMs`) for its URL and admin token. */
export async function startServe(db: string, readyMs = 20_000): Promise<ServeProcess> {
  const serve = spawnPinger(['serve', '--port', '0', '--db', db], { env: { PINGER_LOG_LEVEL: 'warn' } });
  try {
    const deadline = Date.now() + readyMs;
    const [, url] = await serve.waitForLine('stdout', /listening on (http:\/\/\S+)/, { timeoutMs: readyMs });
    const [, adminToken] = await serve.waitForLine('stdout', /admin token[^:]*: (pgr_admin_\S+)/, {
      timeoutMs: Math.max(0, deadline - Date.now()),
    });
    return { url: url!, adminToken: adminToken!, stop: serve.stop };
  } catch (err) {
    await serve.stop();
    throw err;
  }
}

/**
 * Runs `pinger ...args`, reads its first line and then closes the pipe, as `| head -1` would; resolves with
 * that line and how the process ended.
 */
export async function pingerFirstLine(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<Outcome & { firstLine: string }> {
  const run = spawnPinger(args, { env });
  const timer = setTimeout(() => run.kill('SIGKILL'), timeoutMs);
  try {
    const [firstLine] = await run.waitForLine('stdout', /^.*$/, { timeoutMs });
    run.child.stdout!.destroy();
    // Bounded by the timer: the CLI is expected to end on its own once the pipe is gone.
    const exit = await run.exited;
    return { ...exit, ...run.output(), firstLine: firstLine! };
  } finally {
    clearTimeout(timer);
    run.kill('SIGKILL');
  }
}
