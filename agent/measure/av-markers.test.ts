import { describe, expect, it } from 'vitest';
import { AudioOnsetDetector, MARKER, VideoOnsetDetector, markerSchedule, meanLuma, pairMarkers, senderLuma, senderSamples, syncSummary } from './av-markers.js';

/** A seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * A path from sender to receiver: 30 fps video and 16 kHz audio in 10 ms frames (what the WebRTC
 * audio sink delivers), each with its own delay, per-frame jitter and noise.
 */
function measure(options: { audioShiftMs: number; videoDelayMs: number; audioDelayMs: number; jitterMs: number; markers?: number; seed?: number }) {
  const next = random(options.seed ?? 7);
  const schedule = markerSchedule(options.markers ?? 12);
  const endMs = (schedule.at(-1) ?? 0) + 1000;
  const video = new VideoOnsetDetector();
  for (let frame = 0; frame * (1000 / 30) < endMs; frame += 1) {
    const sentAt = frame * (1000 / 30);
    video.feed(sentAt + options.videoDelayMs + next() * options.jitterMs, senderLuma(sentAt, schedule) + (next() - 0.5) * 20);
  }
  const audio = new AudioOnsetDetector();
  for (let startMs = 0; startMs < endMs; startMs += 10) {
    const samples = senderSamples(startMs, 160, 16_000, schedule, options.audioShiftMs).map((sample) => sample + Math.round((next() - 0.5) * 600));
    audio.feed(startMs + options.audioDelayMs, samples, 16_000);
  }
  return { pairs: pairMarkers(video.onsets, audio.onsets), schedule };
}

describe('flash and beep markers', () => {
  it.each([-120, -40, 0, 40, 120])('finds an audio shift of %i ms within 15 ms (median of 12 markers)', (shift) => {
    const { pairs } = measure({ audioShiftMs: shift, videoDelayMs: 60, audioDelayMs: 90, jitterMs: 8 });
    const summary = syncSummary(pairs);
    expect(summary.markers).toBe(12);
    // Video later by 60 ms, audio by 90 ms plus the shift: the picture leads by 30 + shift.
    expect(Math.abs(summary.offsetMs - (60 - 90 - shift))).toBeLessThanOrEqual(15);
  });

  it('takes a calibrated baseline off, and judges against ITU-R BT.1359', () => {
    const clean = syncSummary(measure({ audioShiftMs: 0, videoDelayMs: 0, audioDelayMs: 30, jitterMs: 0 }).pairs);
    expect(clean.rawOffsetMs).toBeCloseTo(-30, 0);
    const room = syncSummary(measure({ audioShiftMs: 150, videoDelayMs: 0, audioDelayMs: 30, jitterMs: 0 }).pairs, clean.rawOffsetMs);
    expect(room.offsetMs).toBeCloseTo(-150, 0);
    expect(room.verdict).toBe('detectable');
    expect(syncSummary(measure({ audioShiftMs: 250, videoDelayMs: 0, audioDelayMs: 0, jitterMs: 0 }).pairs).verdict).toBe('unacceptable');
    expect(syncSummary(measure({ audioShiftMs: -60, videoDelayMs: 0, audioDelayMs: 0, jitterMs: 0 }).pairs).verdict).toBe('detectable');
    expect(syncSummary(measure({ audioShiftMs: 20, videoDelayMs: 0, audioDelayMs: 0, jitterMs: 0 }).pairs).verdict).toBe('imperceptible');
  });

  it('says when there are too few markers to judge, and drops a flash whose beep was lost', () => {
    const { pairs } = measure({ audioShiftMs: 0, videoDelayMs: 0, audioDelayMs: 0, jitterMs: 0, markers: 6 });
    expect(syncSummary(pairs).verdict).toBe('not-enough-markers');
    expect(pairMarkers([500, 1500, 2500], [505, 2503])).toEqual([
      { videoAtMs: 500, audioAtMs: 505, offsetMs: -5 },
      { videoAtMs: 2500, audioAtMs: 2503, offsetMs: -3 },
    ]);
  });

  it('reads the mean luma of an I420 frame and keeps the sender\'s tone at 1 kHz', () => {
    const frame = new Uint8Array(64 * 36 * 1.5).fill(MARKER.whiteLuma);
    expect(meanLuma(frame, 64, 36)).toBe(MARKER.whiteLuma);
    const tone = senderSamples(500, 160, 16_000, [500]);
    const crossings = tone.slice(1).filter((sample, index) => (tone[index] ?? 0) < 0 && sample >= 0).length;
    expect(crossings).toBe(9); // 10 ms of 1 kHz: ten cycles, the first starting at zero
  });
});
