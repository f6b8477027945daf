/**
 * A real `pinger up` process: spawned in a directory of the test's own, its banner read from stdout, stopped by
 * pid with a real signal.
 */
import { type PingerProcess, spawnPinger } from '../../helpers/pinger-process.js';

export interface UpProcess {
  child: PingerProcess['child'];
  /** The control plane URL from the banner. */
  url: string;
  /** Everything printed on stdout up to the end of the banner. */
  banner: string;
  /** Sends `signal` and waits (at most `timeoutMs`, then SIGKILL) for the exit. */
  stop: PingerProcess['stop'];
  stderr(): string;
}

/** Spawns `node bin/pinger.js up ARGS` in `cwd` and waits (at most `timeoutMs`) for its banner. */
export async function startUp(cwd: string, args: string[], timeoutMs = 30_000): Promise<UpProcess> {
  const up = spawnPinger(['up', ...args], { cwd, env: { PINGER_LOG_LEVEL: 'warn' } });
  try {
    await up.waitForLine('stdout', /Ctrl-C stops/, { timeoutMs });
  } catch (err) {
    await up.stop('SIGKILL');
    throw err;
  }
  const banner = up.output().stdout;
  const url = /control plane on (http:\/\/\S+)/.exec(banner)?.[1];
  if (!url) throw new Error(`[e2e] no URL in the banner of pinger up:\n${banner}`);
  return { child: up.child, url, banner, stderr: () => up.output().stderr, stop: up.stop };
}
