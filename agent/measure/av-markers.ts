/**
 * A/V sync by flash and beep: the sender shows a white frame and starts a 1 kHz tone at the same
 * instant, once per marker; the receiver finds when each arrived and pairs them. Pure functions
 * over timestamps, luma and samples, so the WebRTC loopback, the room's own camera and microphone,
 * and recorded streams all go through the same detector.
 *
 * Sign: offset = video arrival - audio arrival, so a positive offset means the sound came before
 * the picture, as ITU-R BT.1359 counts it (detectable past +45 / -125 ms, acceptable to +90 / -185).
 */
import { BT1359 } from '../../protocol/measure-targets.js';

export const MARKER = {
  toneHz: 1000,
  /** Long enough to survive a lost audio packet or two, short enough to leave silence between markers. */
  toneMs: 100,
  flashMs: 100,
  /** Far apart enough that no offset a classroom can have pairs a flash with the wrong beep. */
  intervalMs: 1000,
  /** BT.601 studio levels: white and black luma. */
  whiteLuma: 235,
  blackLuma: 16,
  toneAmplitude: 12_000,
} as const;

/** When each marker starts, in ms from the start of the test. */
export function markerSchedule(count: number, options: { leadInMs?: number; intervalMs?: number } = {}): number[] {
  const { leadInMs = 500, intervalMs = MARKER.intervalMs } = options;
  return Array.from({ length: count }, (_, index) => leadInMs + index * intervalMs);
}

/** The luma the sender shows at `atMs`: white during a flash, black otherwise. */
export function senderLuma(atMs: number, schedule: readonly number[]): number {
  return schedule.some((start) => atMs >= start && atMs < start + MARKER.flashMs) ? MARKER.whiteLuma : MARKER.blackLuma;
}

/**
 * The sender's audio for `count` samples starting at `startMs`: the tone during each marker,
 * silence otherwise. `audioShiftMs` moves every tone later (positive) or earlier: an injected offset.
 */
export function senderSamples(startMs: number, count: number, sampleRate: number, schedule: readonly number[], audioShiftMs = 0): Int16Array {
  const samples = new Int16Array(count);
  for (let index = 0; index < count; index += 1) {
    const atMs = startMs + (index * 1000) / sampleRate;
    const start = schedule.find((marker) => atMs >= marker + audioShiftMs && atMs < marker + audioShiftMs + MARKER.toneMs);
    if (start === undefined) continue;
    const since = (atMs - start - audioShiftMs) / 1000;
    samples[index] = Math.round(MARKER.toneAmplitude * Math.sin(2 * Math.PI * MARKER.toneHz * since));
  }
  return samples;
}

/** Mean luma of an I420 frame's Y plane, sampling every `step`-th pixel (a 720p frame in well under a millisecond). */
export function meanLuma(data: ArrayLike<number>, width: number, height: number, step = 7): number {
  let sum = 0;
  let count = 0;
  for (let index = 0; index < width * height; index += step) {
    sum += data[index] ?? 0;
    count += 1;
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Rising edges of brightness: a frame brighter than `high` after one darker than `low`. The gap
 * between the levels keeps a noisy camera picture from counting one flash twice.
 */
export class VideoOnsetDetector {
  private dark = true;
  readonly onsets: number[] = [];

  constructor(private readonly levels: { low: number; high: number } = { low: 80, high: 150 }) {}

  feed(atMs: number, luma: number): void {
    if (this.dark && luma >= this.levels.high) {
      this.onsets.push(atMs);
      this.dark = false;
    } else if (!this.dark && luma <= this.levels.low) {
      this.dark = true;
    }
  }
}

/**
 * The first sample of each tone: louder than `threshold` after at least `quietMs` of quiet. The
 * onset is placed to the sample, not to the 10 ms chunk it arrived in.
 */
export class AudioOnsetDetector {
  private lastLoudMs = Number.NEGATIVE_INFINITY;
  readonly onsets: number[] = [];

  constructor(private readonly options: { threshold: number; quietMs: number } = { threshold: 3000, quietMs: 300 }) {}

  feed(startMs: number, samples: ArrayLike<number>, sampleRate: number): void {
    for (let index = 0; index < samples.length; index += 1) {
      if (Math.abs(samples[index] ?? 0) < this.options.threshold) continue;
      const atMs = startMs + (index * 1000) / sampleRate;
      if (atMs - this.lastLoudMs >= this.options.quietMs) this.onsets.push(atMs);
      this.lastLoudMs = atMs;
    }
  }
}

export interface MarkerPair {
  videoAtMs: number;
  audioAtMs: number;
  /** Video arrival minus audio arrival: positive when the sound came first. */
  offsetMs: number;
}

/** Each flash with the beep nearest to it within `windowMs`; a flash or beep without a partner is dropped. */
export function pairMarkers(video: readonly number[], audio: readonly number[], windowMs = 400): MarkerPair[] {
  const unused = [...audio];
  const pairs: MarkerPair[] = [];
  for (const videoAtMs of video) {
    let best = -1;
    for (let index = 0; index < unused.length; index += 1) {
      const distance = Math.abs((unused[index] ?? 0) - videoAtMs);
      if (distance <= windowMs && (best === -1 || distance < Math.abs((unused[best] ?? 0) - videoAtMs))) best = index;
    }
    if (best === -1) continue;
    const [audioAtMs = 0] = unused.splice(best, 1);
    pairs.push({ videoAtMs, audioAtMs, offsetMs: videoAtMs - audioAtMs });
  }
  return pairs;
}

export type SyncVerdict = 'imperceptible' | 'detectable' | 'unacceptable' | 'not-enough-markers';

export interface SyncSummary {
  markers: number;
  /** Median offset after the baseline was taken off: what the room adds to a clean pipeline. */
  offsetMs: number;
  /** The raw median, before the baseline. */
  rawOffsetMs: number;
  baselineMs: number;
  /** Between the 25th and the 75th percentile: how steady the offset is. */
  spreadMs: number;
  minMs: number;
  maxMs: number;
  verdict: SyncVerdict;
}

/** Hardware testers advise at least 5 markers, ideally 10 or more. */
export const MIN_MARKERS = 10;

/** ITU-R BT.1359: the sound may lead by up to 45 ms and lag by up to 125 ms before anyone notices. */
export { BT1359 };

export function syncSummary(pairs: readonly MarkerPair[], baselineMs = 0): SyncSummary {
  const offsets = pairs.map((pair) => pair.offsetMs).sort((a, b) => a - b);
  const rawOffsetMs = percentile(offsets, 50);
  const offsetMs = rawOffsetMs - baselineMs;
  return {
    markers: offsets.length,
    offsetMs: round(offsetMs),
    rawOffsetMs: round(rawOffsetMs),
    baselineMs: round(baselineMs),
    spreadMs: round(percentile(offsets, 75) - percentile(offsets, 25)),
    minMs: round(offsets[0] ?? 0),
    maxMs: round(offsets.at(-1) ?? 0),
    verdict: offsets.length < MIN_MARKERS ? 'not-enough-markers' : verdict(offsetMs),
  };
}

function verdict(offsetMs: number): SyncVerdict {
  if (offsetMs > BT1359.acceptable.lead || offsetMs < BT1359.acceptable.lag) return 'unacceptable';
  if (offsetMs > BT1359.detectable.lead || offsetMs < BT1359.detectable.lag) return 'detectable';
  return 'imperceptible';
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const position = ((sorted.length - 1) * p) / 100;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (position - low);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
