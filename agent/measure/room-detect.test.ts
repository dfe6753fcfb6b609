import { describe, expect, it } from 'vitest';
import { flashOnsets, toneOnsets, type TimedLuma, type TimedSamples } from './room-detect.js';

/** A deterministic noise source, so a failing case fails the same way every run. */
function noise(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
}

/** A camera at 30 fps that sees each flash as a rise of `rise` luma levels over a grey room. */
function cameraFrames(flashesAtMs: number[], options: { rise: number; base?: number; sensorNoise?: number; seconds?: number }): TimedLuma[] {
  const { rise, base = 90, sensorNoise = 3, seconds = 14 } = options;
  const random = noise(7);
  const frames: TimedLuma[] = [];
  for (let frame = 0; frame < seconds * 30; frame += 1) {
    const atMs = (frame * 1000) / 30;
    const lit = flashesAtMs.some((start) => atMs >= start && atMs < start + 100);
    frames.push({ atMs, luma: base + (lit ? rise : 0) + random() * 2 * sensorNoise });
  }
  return frames;
}

/** A microphone at 48 kHz in 1024-sample buffers: beeps at the given times over broadband room noise. */
function microphoneChunks(beepsAtMs: number[], options: { toneAmplitude: number; roomNoise: number; seconds?: number }): TimedSamples[] {
  const { toneAmplitude, roomNoise, seconds = 14 } = options;
  const random = noise(11);
  const rate = 48_000;
  const chunks: TimedSamples[] = [];
  for (let start = 0; start < seconds * rate; start += 1024) {
    const samples = new Int16Array(1024);
    for (let index = 0; index < 1024; index += 1) {
      const atMs = ((start + index) * 1000) / rate;
      const beep = beepsAtMs.find((at) => atMs >= at && atMs < at + 100);
      const tone = beep === undefined ? 0 : toneAmplitude * Math.sin((2 * Math.PI * 1000 * (atMs - beep)) / 1000);
      samples[index] = Math.round(32_767 * (tone + roomNoise * random()));
    }
    chunks.push({ startMs: (start * 1000) / rate, samples });
  }
  return chunks;
}

const markers = (firstMs: number, count = 12): number[] => Array.from({ length: count }, (_, index) => firstMs + index * 1000);

describe('flashOnsets', () => {
  it('finds every flash a camera sees as a small rise under sensor noise, on the first lit frame', () => {
    const flashes = markers(1000);
    const { onsets, contrast } = flashOnsets(cameraFrames(flashes, { rise: 20 }));
    expect(onsets).toHaveLength(12);
    expect(contrast).toBeGreaterThan(15);
    onsets.forEach((onset, index) => expect(onset).toBeCloseTo(flashes[index] ?? 0, 0));
  });

  it('finds nothing in a picture that never changes, rather than counting its noise as flashes', () => {
    expect(flashOnsets(cameraFrames([], { rise: 0, sensorNoise: 2 })).onsets).toEqual([]);
  });
});

describe('toneOnsets', () => {
  it('places each beep to a millisecond or two, heard quietly over louder broadband noise', () => {
    const beeps = markers(1037);
    const { onsets, toneToNoise } = toneOnsets(microphoneChunks(beeps, { toneAmplitude: 0.05, roomNoise: 0.2 }), { sampleRate: 48_000 });
    expect(toneToNoise).toBeGreaterThanOrEqual(16);
    expect(onsets).toHaveLength(12);
    onsets.forEach((onset, index) => expect(Math.abs(onset - (beeps[index] ?? 0))).toBeLessThan(2));
  });

  it('hears no beep in room noise alone', () => {
    expect(toneOnsets(microphoneChunks([], { toneAmplitude: 0, roomNoise: 0.3 }), { sampleRate: 48_000 }).onsets).toEqual([]);
  });

  it('keeps later beeps in place when the capture lost a buffer in between', () => {
    const beeps = markers(1037);
    const chunks = microphoneChunks(beeps, { toneAmplitude: 0.2, roomNoise: 0.05 }).filter((_, index) => index !== 200);
    const { onsets } = toneOnsets(chunks, { sampleRate: 48_000 });
    expect(onsets).toHaveLength(12);
    expect(Math.abs((onsets.at(-1) ?? 0) - (beeps.at(-1) ?? 0))).toBeLessThan(2);
  });
});
