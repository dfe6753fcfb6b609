import { describe, expect, it } from 'vitest';
import { agentMessageSchema } from '../../protocol/index.js';
import { GROWTH_RATES, minuteOfTraffic } from './growth-traffic.js';

describe('the growth benchmark\'s traffic', () => {
  const senders = Array.from({ length: 600 }, (_, index) => ({ schoolId: `sch-${Math.floor(index / 40)}`, roomId: `room-${index % 40}`, agentId: `pc-${index}` }));
  const seqs: number[] = [];
  const start = Date.parse('2026-12-07T08:00:00Z');
  const hour = Array.from({ length: 60 }, (_, minute) => minuteOfTraffic(senders, seqs, start, minute)).flat();
  const count = (predicate: (type: string, state?: string) => boolean) =>
    hour.filter(({ message }) => predicate(message.type, message.type === 'fault' ? message.state : undefined)).length;

  it('sends what the collector accepts, numbered per PC from 1', () => {
    for (const { message } of hour) expect(agentMessageSchema.safeParse(message).success).toBe(true);
    const first = hour.filter(({ message }) => message.agentId === 'pc-7').map(({ message }) => message.seq);
    expect(first).toEqual(Array.from({ length: first.length }, (_, index) => index + 1));
  });

  it('keeps the stated rates over an hour of 600 PCs', () => {
    expect(count((type) => type === 'health')).toBe(600 * GROWTH_RATES.healthPerHour);
    expect(count((type) => type === 'measurement')).toBe(600 * GROWTH_RATES.networkTestsPerHour);
    expect(count((type, state) => type === 'fault' && state === 'raised')).toBe(600 * GROWTH_RATES.faultRaisesPerHour);
    // Raises of the hour's first fifty minutes are cleared within it.
    expect(count((type, state) => type === 'fault' && state === 'cleared')).toBe((600 * GROWTH_RATES.faultRaisesPerHour * 50) / 60);
    // Once a day each, at minutes spread over the day: about 25 of 600 PCs in any hour.
    const expected = (600 * GROWTH_RATES.inventoryPerDay * 60) / 1440;
    expect(count((type) => type === 'inventory')).toBeGreaterThan(expected * 0.6);
    expect(count((type) => type === 'inventory')).toBeLessThan(expected * 1.4);
  });
});
