import { describe, expect, it } from 'vitest';
import { judgeThrottling } from './throttle-check.js';

const step = (targetKbps: number, goodputKbps: number) => ({ targetKbps, goodputKbps, lossPercent: 0 });

describe('judging throttling from the UDP steps and the bulk TCP rate', () => {
  it('is not throttling when the media-like flow follows every step', () => {
    expect(judgeThrottling([step(500, 499), step(1000, 990), step(2000, 1990), step(4000, 3900)], 90_000)).toMatchObject({ throttled: false, capKbps: null, mediaKbps: 3900 });
  });

  it('is not throttling when loss takes a few percent of each step', () => {
    expect(judgeThrottling([step(500, 475), step(1000, 950), step(2000, 1900), step(4000, 3760)], 90_000).throttled).toBe(false);
  });

  it('is throttling when UDP stops at a ceiling far below what TCP gets, and names the ceiling', () => {
    const result = judgeThrottling([step(500, 499), step(1000, 998), step(2000, 1190), step(4000, 998)], 4_000_000);
    expect(result).toMatchObject({ throttled: true, capKbps: 998, mediaKbps: 1190, bulkKbps: 4_000_000 });
  });

  it('is a slow path, not throttling, when TCP is no faster than the media flow', () => {
    const result = judgeThrottling([step(500, 499), step(1000, 800), step(2000, 820), step(4000, 810)], 1_200);
    expect(result.throttled).toBe(false);
    expect(result.note).toMatch(/path itself is slow/);
  });

  it('cannot tell without the bulk transfer, and says so', () => {
    const result = judgeThrottling([step(500, 499), step(1000, 400)], null);
    expect(result.throttled).toBe(false);
    expect(result.note).toMatch(/bulk TCP transfer failed/);
  });
});
