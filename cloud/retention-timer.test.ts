import { describe, expect, it } from 'vitest';
import { silentLogger } from '../protocol/log.js';
import { startRetentionTimer } from './retention-timer.js';
import type { PruneResult, RetentionPolicy } from './store/store.js';

const POLICY: RetentionPolicy = { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 365 };
const NOTHING: PruneResult = { rawHealthFolded: 0, hourlyHealthDeleted: 0, eventsDeleted: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('retention timer', () => {
  it('prunes with the policy at start and again every interval', async () => {
    const calls: RetentionPolicy[] = [];
    const timer = startRetentionTimer({ store: { prune: (_now, policy) => (calls.push(policy), Promise.resolve(NOTHING)) }, policy: POLICY, log: silentLogger, intervalMs: 20 });
    expect(calls).toHaveLength(1);
    await sleep(70);
    await timer.stop();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every((policy) => policy === POLICY)).toBe(true);
  });

  it('keeps trying after a failed prune and never runs two at once', async () => {
    let running = 0;
    let overlapped = false;
    let calls = 0;
    const store = {
      prune: async () => {
        calls += 1;
        running += 1;
        overlapped ||= running > 1;
        await sleep(30);
        running -= 1;
        if (calls === 1) throw new Error('database is locked');
        return NOTHING;
      },
    };
    const timer = startRetentionTimer({ store, policy: POLICY, log: silentLogger, intervalMs: 10 });
    await sleep(120);
    await timer.stop();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(overlapped).toBe(false);
    expect(running).toBe(0);
  });
});
