/**
 * What one side of a measurement received, read from WebRTC's getStats() the same way by the
 * agent (the path down) and by the reflector (the path up, sent to the agent at the end).
 */
import { z } from 'zod';
import type { StatsEntry } from './webrtc.js';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ms = z.number().nonnegative().max(3_600_000);

export const receivedStreamSchema = z.strictObject({
  packetsReceived: count,
  /** RFC 3550 cumulative loss: expected minus received (may be briefly negative with duplicates; clamped). */
  packetsLost: count,
  bytesReceived: count,
  /** RFC 3550 interarrival jitter as inbound-rtp reports it, averaged over the run when sampled. */
  jitterMs: ms,
});
export type ReceivedStream = z.infer<typeof receivedStreamSchema>;

export const receivedVideoSchema = receivedStreamSchema.extend({
  framesDecoded: count,
  width: z.number().int().nonnegative().max(16_384),
  height: z.number().int().nonnegative().max(16_384),
  /** Stalls longer than max(3 frame intervals, one interval + 150 ms), the WebRTC stats definition. */
  freezes: count,
  freezeMs: ms,
});
export type ReceivedVideo = z.infer<typeof receivedVideoSchema>;

export const receivedMediaSchema = z.strictObject({
  /** From the first to the last sample of this side. */
  durationMs: ms,
  audio: receivedStreamSchema.nullable(),
  video: receivedVideoSchema.nullable(),
});
export type ReceivedMedia = z.infer<typeof receivedMediaSchema>;

/** What the reflector says over the data channel when the agent asks (`{"type":"report"}`). */
export const reflectorReportSchema = z.strictObject({
  type: z.literal('report'),
  received: receivedMediaSchema,
  /** Pings that reached the reflector: with those sent and those echoed back, loss each way. */
  pingsReceived: count.optional(),
});
export type ReflectorReport = z.infer<typeof reflectorReportSchema>;

export interface StatsReport {
  forEach(visit: (entry: StatsEntry) => void): void;
}

function num(entry: StatsEntry | undefined, key: string): number {
  const value = entry?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The entries of one type (and kind, for RTP streams), in the order getStats gave them. */
export function statsOf(report: StatsReport, type: string, kind?: 'audio' | 'video'): StatsEntry[] {
  const found: StatsEntry[] = [];
  report.forEach((entry) => {
    if (entry.type === type && (kind === undefined || entry['kind'] === kind)) found.push(entry);
  });
  return found;
}

export function receivedStream(entry: StatsEntry): ReceivedStream {
  return {
    packetsReceived: num(entry, 'packetsReceived'),
    packetsLost: Math.max(0, num(entry, 'packetsLost')),
    bytesReceived: num(entry, 'bytesReceived'),
    jitterMs: num(entry, 'jitter') * 1000,
  };
}

/**
 * Counts freezes from a side's decoded-frame counter, sampled every ~100 ms: @roamhq/wrtc's
 * inbound-rtp has no freezeCount, and a video sink would copy every decoded frame into JS
 * (41 MB/s at 720p30) only to read its arrival time.
 */
export class FreezeCounter {
  private lastFrames = 0;
  private lastNewFrameAt: number | undefined;
  private firstFrameAt: number | undefined;
  private stalledSince: number | undefined;
  freezes = 0;
  freezeMs = 0;

  sample(atMs: number, framesDecoded: number): void {
    if (framesDecoded > this.lastFrames) {
      if (this.stalledSince !== undefined && this.lastNewFrameAt !== undefined) this.close(atMs);
      this.firstFrameAt ??= atMs;
      this.lastFrames = framesDecoded;
      this.lastNewFrameAt = atMs;
      return;
    }
    if (this.lastNewFrameAt !== undefined && this.stalledSince === undefined && atMs - this.lastNewFrameAt > this.threshold()) this.stalledSince = this.lastNewFrameAt;
  }

  /** Ends the count: a stall still under way at the end counts too. */
  finish(atMs: number): void {
    if (this.stalledSince !== undefined) this.close(atMs);
  }

  private close(atMs: number): void {
    this.freezes += 1;
    this.freezeMs += atMs - (this.stalledSince ?? atMs);
    this.stalledSince = undefined;
  }

  private threshold(): number {
    const interval = this.firstFrameAt !== undefined && this.lastNewFrameAt !== undefined && this.lastFrames > 1 ? (this.lastNewFrameAt - this.firstFrameAt) / (this.lastFrames - 1) : 33;
    return Math.max(3 * interval, interval + 150);
  }
}

/**
 * inbound-rtp's jitter is a running estimate that follows the last few dozen packets (RFC 3550's
 * gain of 1/16): one reading at the end is a snapshot of the last half second. Sampled every
 * 100 ms over the run, its mean is the path's jitter over the run.
 */
export class JitterAverager {
  private readonly sums = { audio: 0, video: 0 };
  private readonly counts = { audio: 0, video: 0 };

  sample(report: StatsReport): void {
    for (const kind of ['audio', 'video'] as const) {
      const [entry] = statsOf(report, 'inbound-rtp', kind);
      if (!entry || num(entry, 'packetsReceived') < 2) continue;
      this.sums[kind] += num(entry, 'jitter') * 1000;
      this.counts[kind] += 1;
    }
  }

  meanMs(kind: 'audio' | 'video'): number | undefined {
    return this.counts[kind] > 0 ? this.sums[kind] / this.counts[kind] : undefined;
  }
}

/** What this side received, from its own getStats, freeze count and (when sampled) the jitter over the run. */
export function receivedMedia(report: StatsReport, durationMs: number, freezes: Pick<FreezeCounter, 'freezes' | 'freezeMs'>, jitter?: JitterAverager): ReceivedMedia {
  const [audio] = statsOf(report, 'inbound-rtp', 'audio');
  const [video] = statsOf(report, 'inbound-rtp', 'video');
  const withJitter = (stream: ReceivedStream, kind: 'audio' | 'video'): ReceivedStream => {
    const mean = jitter?.meanMs(kind);
    return mean === undefined ? stream : { ...stream, jitterMs: mean };
  };
  return {
    durationMs: Math.max(0, Math.round(durationMs)),
    audio: audio ? withJitter(receivedStream(audio), 'audio') : null,
    video: video
      ? {
          ...withJitter(receivedStream(video), 'video'),
          framesDecoded: num(video, 'framesDecoded'),
          width: num(video, 'frameWidth'),
          height: num(video, 'frameHeight'),
          freezes: freezes.freezes,
          freezeMs: Math.round(freezes.freezeMs),
        }
      : null,
  };
}

/** framesDecoded of the inbound video, for the freeze counter. */
export function framesDecoded(report: StatsReport): number {
  return num(statsOf(report, 'inbound-rtp', 'video')[0], 'framesDecoded');
}
