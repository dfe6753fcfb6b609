import { describe, expect, it } from 'vitest';
import { callQuality, pathVerdict } from './e-model.js';

describe('the simplified E-model', () => {
  it('uses half the round trip as the latency and gives a clean LAN an excellent call', () => {
    const quality = callQuality({ rttMs: 20, jitterMs: 2, lossPercent: 0 });
    expect(quality.oneWayLatencyMs).toBe(10);
    expect(quality.effectiveLatencyMs).toBe(24); // 10 + 2*2 + 10
    expect(quality.r).toBe(92.6); // 93.2 - 24/40
    expect(quality.mos).toBe(4.4); // 1 + 0.035*92.6 + 7e-6*92.6*32.6*7.4
    expect(quality.band).toBe('excellent');
  });

  it('switches to the steep branch from 160 ms of effective latency and charges 2.5 R per percent lost', () => {
    const slow = callQuality({ rttMs: 300, jitterMs: 20, lossPercent: 2 });
    expect(slow.effectiveLatencyMs).toBe(200); // 150 + 40 + 10
    expect(slow.r).toBe(80.2); // 93.2 - 8 - 5
    expect(slow.band).toBe('good');
    const awful = callQuality({ rttMs: 2000, jitterMs: 200, lossPercent: 40 });
    expect(awful.r).toBe(0);
    expect(awful.mos).toBe(1);
    expect(awful.band).toBe('bad');
  });

  it('judges a path against the targets and the fault limits', () => {
    expect(pathVerdict({ rttMs: 40, jitterMs: 5, lossPercent: 0.2 })).toEqual({ verdict: 'meets-targets', missed: [] });
    expect(pathVerdict({ rttMs: 150, jitterMs: 5, lossPercent: 0.2 })).toEqual({ verdict: 'below-targets', missed: ['rttMs'] });
    expect(pathVerdict({ rttMs: 150, jitterMs: 45, lossPercent: 5 }).verdict).toBe('poor');
    expect(pathVerdict({ rttMs: 150, jitterMs: 45, lossPercent: 5 }).missed).toEqual(['lossPercent', 'jitterMs']);
  });
});
