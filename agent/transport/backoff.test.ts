import { describe, expect, it } from 'vitest';
import { backoffCeilingMs, DEFAULT_BACKOFF, ReconnectBackoff } from './backoff.js';

describe('reconnect backoff', () => {
  it('doubles the ceiling from 1 s up to the 60 s cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((attempt) => backoffCeilingMs(attempt, DEFAULT_BACKOFF))).toEqual([
      1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000,
    ]);
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    const atTop = new ReconnectBackoff(DEFAULT_BACKOFF, () => 0.999999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(() => atTop.nextDelayMs())).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]);
    const atBottom = new ReconnectBackoff(DEFAULT_BACKOFF, () => 0);
    expect(atBottom.nextDelayMs()).toBe(0);
    const halfway = new ReconnectBackoff(DEFAULT_BACKOFF, () => 0.5);
    halfway.nextDelayMs();
    expect(halfway.nextDelayMs()).toBe(1000);
  });

  it('spreads real random delays over the whole range instead of bunching at the ceiling', () => {
    const delays = Array.from({ length: 2000 }, () => new ReconnectBackoff().nextDelayMs());
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(1000);
    expect(delays.filter((delay) => delay < 500).length).toBeGreaterThan(800);
    expect(delays.filter((delay) => delay >= 500).length).toBeGreaterThan(800);
  });

  it('starts small again after a connection that lasted', () => {
    const backoff = new ReconnectBackoff(DEFAULT_BACKOFF, () => 0.999999);
    for (let i = 0; i < 6; i++) backoff.nextDelayMs();
    backoff.connected(1_000);
    backoff.disconnected(1_000 + DEFAULT_BACKOFF.stableAfterMs);
    expect(backoff.nextDelayMs()).toBe(999);
  });

  it('keeps escalating when the broker accepts and drops the connection at once', () => {
    const backoff = new ReconnectBackoff(DEFAULT_BACKOFF, () => 0.999999);
    for (let i = 0; i < 4; i++) backoff.nextDelayMs();
    backoff.connected(1_000);
    backoff.disconnected(1_500);
    expect(backoff.nextDelayMs()).toBe(15999);
    expect(backoff.attempts).toBe(5);
  });
});
