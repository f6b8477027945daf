/**
 * Retention on a timer: one bounded prune pass (see StatsStore.prune) every interval, and passes 100 ms apart
 * while a backlog remains, so that a purge goes at a steady trickle between ingest transactions instead of
 * one long one. A failed pass is logged and retried at the next tick; nothing here ever throws.
 */
import type { Logger } from './deps.js';
import type { StatsStore } from './store/store.js';

/** Delay between passes while the last one said there is more to delete. */
export const PRUNE_BACKLOG_DELAY_MS = 100;

export interface PruneTimer {
  /** Stops the timer and waits for a pass in flight. */
  stop(): Promise<void>;
}

export function startPruneTimer(
  stats: StatsStore,
  logger: Logger,
  intervalMs: number,
  now: () => Date = () => new Date(),
): PruneTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(pass, ms);
    // Retention must not keep a process alive that has nothing else to do.
    timer.unref?.();
  };
  const pass = () => {
    running = stats.prune(now()).then(
      ({ deleted, more }) => {
        if (deleted > 0) logger.debug({ deleted, more }, 'retention pass');
        schedule(more ? PRUNE_BACKLOG_DELAY_MS : intervalMs);
      },
      (err: unknown) => {
        logger.warn({ err }, 'retention pass failed; retrying at the next interval');
        schedule(intervalMs);
      },
    );
  };
  schedule(intervalMs);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
