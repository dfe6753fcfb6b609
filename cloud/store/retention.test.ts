import { describe, expect, it } from 'vitest';
import { retentionCutoffs } from './retention.js';

const DAY = 86_400_000;
const now = new Date('2025-03-13T08:25:30.500Z');

describe('retentionCutoffs', () => {
  it('rounds the raw health cutoff down to a whole hour and leaves the others exact', () => {
    const cutoffs = retentionCutoffs(now, { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 30 });
    expect(new Date(cutoffs.rawHealthBefore).toISOString()).toBe('2025-03-06T08:00:00.000Z');
    expect(cutoffs.healthEventsBefore).toBe(now.getTime() - 7 * DAY);
    expect(cutoffs.hourlyHealthBefore).toBe(now.getTime() - 90 * DAY);
    expect(cutoffs.eventsBefore).toBe(now.getTime() - 30 * DAY);
  });

  it('gives whole milliseconds for fractional days, since the columns are BIGINT', () => {
    const cutoffs = retentionCutoffs(now, { rawHealthDays: 1 / 3, hourlyHealthDays: 1 / 7, eventDays: 0.3333 });
    for (const value of Object.values(cutoffs)) expect(Number.isInteger(value)).toBe(true);
  });

  it('refuses negative or non-numeric windows and an invalid date', () => {
    expect(() => retentionCutoffs(now, { rawHealthDays: -1, hourlyHealthDays: 1, eventDays: 1 })).toThrow(/rawHealthDays/);
    expect(() => retentionCutoffs(now, { rawHealthDays: 1, hourlyHealthDays: Number.NaN, eventDays: 1 })).toThrow(/hourlyHealthDays/);
    expect(() => retentionCutoffs(new Date('nonsense'), { rawHealthDays: 1, hourlyHealthDays: 1, eventDays: 1 })).toThrow(/valid date/);
  });
});
