import { AvcareError } from '../../protocol/index.js';
import type { RetentionPolicy } from './store.js';

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface RetentionCutoffs {
  /** Raw health before this (epoch ms, on an hour boundary) is folded into hourly averages. */
  rawHealthBefore: number;
  hourlyHealthBefore: number;
  /** Fault, inventory, status and measurement events received before this are deleted. */
  eventsBefore: number;
  /** Health events received before this are deleted: their numbers live on in the health table. */
  healthEventsBefore: number;
}

/**
 * Where each retention window ends. The raw cutoff is rounded down to a whole hour so an hour is
 * folded once, complete, rather than half now and half at the next prune. Events age by when the
 * cloud received them, not by the agent's clock: a classroom PC with a wrong clock must neither
 * lose its events at once nor keep them forever.
 */
export function retentionCutoffs(now: Date, policy: RetentionPolicy): RetentionCutoffs {
  for (const [field, days] of Object.entries(policy)) {
    if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) {
      throw new AvcareError('INVALID_ARGUMENT', `retention ${field} must be a number of days >= 0`, { field, value: days });
    }
  }
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw new AvcareError('INVALID_ARGUMENT', 'prune needs a valid date', {});
  const rawHealthBefore = Math.floor((nowMs - policy.rawHealthDays * DAY_MS) / HOUR_MS) * HOUR_MS;
  return {
    rawHealthBefore,
    // Whole milliseconds: the columns are BIGINT, and a fractional number of days need not give one.
    hourlyHealthBefore: Math.floor(nowMs - policy.hourlyHealthDays * DAY_MS),
    eventsBefore: Math.floor(nowMs - policy.eventDays * DAY_MS),
    healthEventsBefore: Math.floor(nowMs - policy.rawHealthDays * DAY_MS),
  };
}
