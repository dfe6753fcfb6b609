/**
 * From what each side received to the figures a person reads: per direction loss, jitter,
 * bitrate, frame rate and freezes; the round trip; the E-model of the worse direction and the
 * verdict against the targets (agent/measure/e-model.ts). Pure.
 */
import type { DirectionResult, NetworkResult, ThrottleResult } from '../../protocol/measure-result.js';
import type { ReceivedMedia } from '../../protocol/rtc-stats.js';
import { callQuality, pathVerdict } from './e-model.js';

export interface NetworkFacts {
  reflectorId: string;
  sessionId: string;
  durationMs: number;
  /** What the agent received (the way down). */
  down: ReceivedMedia;
  /** What the reflector received (the way up); null when its report did not arrive. */
  up: ReceivedMedia | null;
  /** Pings over the data channel: sent, reached the reflector (null when its report is missing), came back. */
  pings?: { sent: number; reached: number | null; returned: number };
  rttMs: number | null;
  rttSamples: number;
  rttRtcpMs: number | null;
  availableOutgoingKbps: number | null;
  throttle: ThrottleResult | null;
}

/**
 * Loss is counted on what nothing repairs: the audio (Opus, no NACK) and the pings (never resent),
 * `probe` being the pings sent and lost that way. Video is left out: libwebrtc counts a packet that
 * NACK repaired as received, so its loss reads under the path's; and the senders' retransmission
 * counts cannot correct that, because a path that reorders makes them resend packets that were
 * only late. Without audio or pings, the video's count is all there is.
 */
export function directionResult(media: ReceivedMedia, probe?: { sent: number; lost: number }): DirectionResult {
  const repairFree = [media.audio].filter((stream) => stream !== null);
  const counted = repairFree.length > 0 || (probe?.sent ?? 0) > 0 ? repairFree : [media.audio, media.video].filter((stream) => stream !== null);
  const lost = counted.reduce((sum, stream) => sum + stream.packetsLost, 0) + (probe?.lost ?? 0);
  const expected = counted.reduce((sum, stream) => sum + stream.packetsReceived + stream.packetsLost, 0) + (probe?.sent ?? 0);
  const lossFraction = expected > 0 ? lost / expected : 0;
  const streams = [media.audio, media.video].filter((stream) => stream !== null);
  const bytes = streams.reduce((sum, stream) => sum + stream.bytesReceived, 0);
  const seconds = media.durationMs / 1000;
  const video = media.video;
  return {
    lossPercent: round(100 * lossFraction, 2),
    packetsExpected: expected,
    // The voice's jitter: video packets of one frame share a timestamp and leave in a burst.
    jitterMs: round(media.audio?.jitterMs ?? video?.jitterMs ?? 0, 1),
    bitrateKbps: seconds > 0 ? round((bytes * 8) / 1000 / seconds, 0) : 0,
    framesPerSecond: video && seconds > 0 ? round(video.framesDecoded / seconds, 1) : 0,
    freezes: video?.freezes ?? 0,
    freezeMs: video?.freezeMs ?? 0,
    resolution: video && video.width > 0 ? `${video.width}x${video.height}` : null,
  };
}

export function summariseNetwork(facts: NetworkFacts): NetworkResult {
  const pings = facts.pings;
  const reached = pings?.reached ?? null;
  const down = directionResult(facts.down, pings && reached !== null ? { sent: reached, lost: Math.max(0, reached - pings.returned) } : undefined);
  const up = facts.up ? directionResult(facts.up, pings && reached !== null ? { sent: pings.sent, lost: Math.max(0, pings.sent - reached) } : undefined) : null;
  const worse = up && (up.lossPercent > down.lossPercent || up.jitterMs > down.jitterMs) ? worst(up, down) : down;
  const path = { rttMs: facts.rttMs ?? 0, jitterMs: worse.jitterMs, lossPercent: worse.lossPercent };
  const quality = callQuality(path);
  const { verdict, missed } = pathVerdict(path, quality);
  return {
    test: 'network',
    reflectorId: facts.reflectorId,
    sessionId: facts.sessionId,
    durationMs: facts.durationMs,
    rttMs: facts.rttMs,
    rttSamples: facts.rttSamples,
    rttRtcpMs: facts.rttRtcpMs,
    up,
    down,
    availableOutgoingKbps: facts.availableOutgoingKbps,
    quality: { ...quality, oneWayLatencyMs: round(quality.oneWayLatencyMs, 1), effectiveLatencyMs: round(quality.effectiveLatencyMs, 1) },
    verdict,
    missed,
    throttle: facts.throttle,
  };
}

/** The worse of each figure: a call suffers from the worse direction of each. */
function worst(a: DirectionResult, b: DirectionResult): DirectionResult {
  return { ...a, lossPercent: Math.max(a.lossPercent, b.lossPercent), jitterMs: Math.max(a.jitterMs, b.jitterMs) };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
