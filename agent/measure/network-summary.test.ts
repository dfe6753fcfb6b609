import { describe, expect, it } from 'vitest';
import { directionResult, summariseNetwork } from './network-summary.js';

const media = (lost: number) => ({
  durationMs: 10_000,
  audio: { packetsReceived: 500 - lost, packetsLost: lost, bytesReceived: 40_000, jitterMs: 3 },
  video: { packetsReceived: 2000, packetsLost: 0, bytesReceived: 1_800_000, jitterMs: 11, framesDecoded: 290, width: 1280, height: 720, freezes: 1, freezeMs: 400 },
});

describe("a direction's figures from what its receiver saw", () => {
  it('takes the voice\'s jitter, the bitrate and frame rate over the run, and the resolution', () => {
    expect(directionResult(media(0))).toMatchObject({ lossPercent: 0, packetsExpected: 500, jitterMs: 3, bitrateKbps: 1472, framesPerSecond: 29, freezes: 1, freezeMs: 400, resolution: '1280x720' });
  });

  it('counts loss on what nothing repairs: the audio and the pings, not the video NACK repaired', () => {
    const repaired = { ...media(10), video: { ...media(10).video, packetsLost: 2 } };
    // 10 audio packets and 15 pings lost of 500 + 500: 2.5 %, whatever the video's count says.
    expect(directionResult(repaired, { sent: 500, lost: 15 }).lossPercent).toBe(2.5);
    expect(directionResult({ ...repaired, audio: null }).lossPercent).toBe(0.1);
  });

  it('judges the worse direction with the E-model and says which targets were missed', () => {
    const result = summariseNetwork({ reflectorId: 'local', sessionId: crypto.randomUUID(), durationMs: 10_000, down: media(0), up: media(5), rttMs: 120, rttSamples: 90, rttRtcpMs: 118, availableOutgoingKbps: 2500, throttle: null });
    expect(result.up?.lossPercent).toBe(1);
    expect(result.verdict).toBe('below-targets');
    expect(result.missed).toEqual(['rttMs', 'lossPercent']);
    expect(result.quality.oneWayLatencyMs).toBe(60);
  });
});
