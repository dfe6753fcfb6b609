import type { Logger } from 'pino';
import type { RetentionPolicy, Store } from './store/store.js';

export interface RetentionTimerOptions {
  store: Pick<Store, 'prune'>;
  policy: RetentionPolicy;
  log: Logger;
  intervalMs?: number;
  /** More data with a retention of its own (the audit log, expired tokens), pruned at the same ticks. */
  also?: ReadonlyArray<{ name: string; prune: (now: Date) => Promise<unknown> }>;
}

export interface RetentionTimer {
  /** Waits for a prune in progress, so the store is not closed under it. */
  stop(): Promise<void>;
}

/**
 * Prunes the store at start and then every hour. A prune that fails is logged and tried again at
 * the next tick: old health rows are a disk-space matter, never a reason to stop ingesting.
 */
export function startRetentionTimer({ store, policy, log, intervalMs = 3_600_000, also = [] }: RetentionTimerOptions): RetentionTimer {
  const retentionLog = log.child({ module: 'retention' });
  let running: Promise<void> | undefined;

  const pruneNow = (): void => {
    // Hourly ticks never overlap: a slow prune on a large PostgreSQL table simply delays the next one.
    if (running) return;
    running = store
      .prune(new Date(), policy)
      .then(
        (result) => retentionLog.debug({ ...result, policy }, 'retention applied'),
        (error: unknown) => retentionLog.error({ err: error, policy }, 'pruning old data failed; trying again at the next interval'),
      )
      .then(async () => {
        for (const extra of also) {
          await extra.prune(new Date()).then(
            (result) => retentionLog.debug({ what: extra.name, result }, 'retention applied'),
            (error: unknown) => retentionLog.error({ err: error, what: extra.name }, 'pruning old data failed; trying again at the next interval'),
          );
        }
      })
      .finally(() => {
        running = undefined;
      });
  };

  pruneNow();
  const timer = setInterval(pruneNow, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
