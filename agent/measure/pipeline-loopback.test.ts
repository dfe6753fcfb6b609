import { describe, expect, it } from 'vitest';
import { measurePipelineSync } from './pipeline-loopback.js';

// The real WebRTC stack (@roamhq/wrtc): VP8 and Opus through two peers of this process.

describe('A/V sync of the WebRTC pipeline', () => {
  it('pairs every marker, and sees a shift injected on the sender as the same change of offset', async () => {
    const baseline = await measurePipelineSync({ markers: 12, intervalMs: 500 });
    expect(baseline.summary.markers).toBe(12);
    expect(baseline.framesReceived).toBeGreaterThan(100);
    // The pipeline's own offset is small (the audio jitter buffer holds sound a little longer).
    expect(Math.abs(baseline.summary.rawOffsetMs)).toBeLessThan(100);

    const shifted = await measurePipelineSync({ markers: 12, intervalMs: 500, audioShiftMs: 80 });
    expect(shifted.summary.markers).toBe(12);
    const change = shifted.summary.rawOffsetMs - baseline.summary.rawOffsetMs;
    // Sound 80 ms later means the picture leads by 80 ms more: the offset falls by 80.
    expect(Math.abs(change + 80)).toBeLessThanOrEqual(20);
  }, 30_000);
});
