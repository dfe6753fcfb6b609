/**
 * Flash and beep onsets as a room's camera and microphone capture them. Unlike the pipeline's
 * clean synthetic picture and tone, a camera sees the display's flash as a rise of a few tens of
 * luma levels (it may face the class and see only the light the screen throws), and the microphone
 * hears the beep through the room with voices and fans around it. So both detectors take their
 * levels from the capture itself, and the tone is picked out by its frequency, not its loudness.
 * The flash and the beep then go through the same pairing and summary as every other mode
 * (`av-markers.ts`).
 */
import { MARKER, VideoOnsetDetector } from './av-markers.js';

export interface TimedLuma {
  atMs: number;
  luma: number;
}

/** Below this rise between the dark and the flashed picture, the camera did not see the flash. */
export const MIN_FLASH_CONTRAST = 6;

/**
 * Rising edges of brightness, with the levels set between the capture's own dark and bright
 * picture (its median and its 97th percentile): a camera that sees the screen from the side still
 * finds every flash, and a picture that never changes finds none. Flashes fill a tenth of the
 * time, so the median is the dark picture and the 97th percentile the flashed one.
 */
export function flashOnsets(frames: readonly TimedLuma[]): { onsets: number[]; contrast: number } {
  const sorted = frames.map((frame) => frame.luma).sort((a, b) => a - b);
  const dark = quantile(sorted, 0.5);
  const bright = quantile(sorted, 0.97);
  const contrast = bright - dark;
  if (contrast < MIN_FLASH_CONTRAST) return { onsets: [], contrast };
  const detector = new VideoOnsetDetector({ low: dark + contrast * 0.35, high: dark + contrast * 0.65 });
  for (const frame of frames) detector.feed(frame.atMs, frame.luma);
  return { onsets: detector.onsets, contrast };
}

export interface TimedSamples {
  startMs: number;
  samples: ArrayLike<number>;
}

export interface ToneOptions {
  sampleRate: number;
  toneHz?: number;
  /** Analysis window: long enough to tell 1 kHz from speech, short enough to place an onset to a millisecond or two. */
  windowMs?: number;
  hopMs?: number;
  /** Silence needed before a tone counts as a new beep (the room's echo of the last one must have died). */
  quietMs?: number;
}

/** The tone must stand this far above the room's noise at 1 kHz (power ratio, 12 dB) to count. */
const MIN_TONE_TO_NOISE = 16;

/**
 * Where each beep starts: the tone's power at 1 kHz (Goertzel) over a sliding window. A window
 * half over the tone holds half its amplitude, so the onset is the window's centre at the moment
 * the amplitude crosses halfway between the room's noise and the tone's steady level,
 * interpolated between hops.
 */
export function toneOnsets(chunks: readonly TimedSamples[], options: ToneOptions): { onsets: number[]; toneToNoise: number } {
  const { sampleRate, toneHz = MARKER.toneHz, windowMs = 5, hopMs = 1, quietMs = 300 } = options;
  const window = Math.max(8, Math.round((sampleRate * windowMs) / 1000));
  const hop = Math.max(1, Math.round((sampleRate * hopMs) / 1000));
  const track = amplitudeTrack(chunks, { sampleRate, toneHz, window, hop });
  const sorted = track.map((point) => point.amplitude).sort((a, b) => a - b);
  const noise = quantile(sorted, 0.5);
  const tone = quantile(sorted, 0.97);
  const toneToNoise = noise === 0 ? (tone > 0 ? Number.POSITIVE_INFINITY : 0) : (tone / noise) ** 2;
  if (toneToNoise < MIN_TONE_TO_NOISE) return { onsets: [], toneToNoise };
  const half = noise + (tone - noise) / 2;
  const onsets: number[] = [];
  let lastLoudMs = Number.NEGATIVE_INFINITY;
  for (let index = 1; index < track.length; index += 1) {
    const previous = track[index - 1];
    const current = track[index];
    if (previous === undefined || current === undefined) continue;
    if (current.amplitude < half) continue;
    if (previous.amplitude < half && current.atMs - lastLoudMs >= quietMs) {
      const fraction = (half - previous.amplitude) / (current.amplitude - previous.amplitude);
      onsets.push(previous.atMs + fraction * (current.atMs - previous.atMs));
    }
    lastLoudMs = current.atMs;
  }
  return { onsets, toneToNoise: Math.round(toneToNoise) };
}

interface AmplitudePoint {
  /** The window's centre. */
  atMs: number;
  amplitude: number;
}

/**
 * The tone's amplitude in every window. Chunks are laid on their own timestamps, so a capture
 * that lost a buffer does not shift every later beep; windows never straddle two chunks.
 */
function amplitudeTrack(chunks: readonly TimedSamples[], options: { sampleRate: number; toneHz: number; window: number; hop: number }): AmplitudePoint[] {
  const { sampleRate, toneHz, window, hop } = options;
  const coefficient = 2 * Math.cos((2 * Math.PI * toneHz) / sampleRate);
  const track: AmplitudePoint[] = [];
  for (const { joined, startMs } of contiguousRuns(chunks, sampleRate)) {
    for (let start = 0; start + window <= joined.length; start += hop) {
      let s1 = 0;
      let s2 = 0;
      for (let index = start; index < start + window; index += 1) {
        const s0 = (joined[index] ?? 0) + coefficient * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
      track.push({ atMs: startMs + ((start + window / 2) * 1000) / sampleRate, amplitude: Math.sqrt(Math.max(0, power)) / window });
    }
  }
  return track;
}

/** Chunks that follow each other without a gap, joined: a window may span two capture buffers but not a hole. */
function contiguousRuns(chunks: readonly TimedSamples[], sampleRate: number): { startMs: number; joined: Float64Array }[] {
  const runs: { startMs: number; parts: ArrayLike<number>[]; length: number }[] = [];
  for (const chunk of chunks) {
    const last = runs.at(-1);
    const expectedMs = last === undefined ? Number.NaN : last.startMs + (last.length * 1000) / sampleRate;
    // Within 2 ms of where the last run ends: the next buffer of the same stream (a device's
    // buffer timestamps wobble by a fraction of a millisecond; a lost buffer leaves a hole of 20).
    if (last !== undefined && Math.abs(chunk.startMs - expectedMs) <= 2) {
      last.parts.push(chunk.samples);
      last.length += chunk.samples.length;
    } else {
      runs.push({ startMs: chunk.startMs, parts: [chunk.samples], length: chunk.samples.length });
    }
  }
  return runs.map((run) => {
    const joined = new Float64Array(run.length);
    let offset = 0;
    for (const part of run.parts) {
      for (let index = 0; index < part.length; index += 1) joined[offset + index] = part[index] ?? 0;
      offset += part.length;
    }
    return { startMs: run.startMs, joined };
  });
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? 0;
}
