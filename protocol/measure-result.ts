/**
 * The result of a network test as the agent prints it (`test network --json`), sends it (the
 * details of its `measurement` telemetry) and the API serves it back.
 */
import { z } from 'zod';

const ms = z.number().nonnegative().max(3_600_000);
const percent = z.number().min(0).max(100);

export const directionResultSchema = z.strictObject({
  /** Packets lost of those sent, counted on what nothing repairs: the audio and the data channel's pings (video's count reads low under NACK). */
  lossPercent: percent,
  packetsExpected: z.number().int().nonnegative(),
  /** RFC 3550 interarrival jitter of the audio stream (20 ms Opus packets: the voice's own). */
  jitterMs: ms,
  bitrateKbps: z.number().nonnegative(),
  framesPerSecond: z.number().nonnegative().max(1000),
  freezes: z.number().int().nonnegative(),
  freezeMs: ms,
  resolution: z.string().max(32).nullable(),
});
export type DirectionResult = z.infer<typeof directionResultSchema>;

export const callQualitySchema = z.strictObject({
  oneWayLatencyMs: ms,
  effectiveLatencyMs: ms,
  r: z.number().min(0).max(100),
  mos: z.number().min(1).max(5),
  band: z.enum(['excellent', 'good', 'fair', 'poor', 'bad']),
});

export const pathVerdictSchema = z.enum(['meets-targets', 'below-targets', 'poor']);

export const throttleResultSchema = z.strictObject({
  /** Media goodput at each bitrate the sender was allowed, lowest first. */
  steps: z.array(z.strictObject({ targetKbps: z.number().nonnegative(), goodputKbps: z.number().nonnegative(), lossPercent: percent })).max(16),
  bulkKbps: z.number().nonnegative().nullable(),
  mediaKbps: z.number().nonnegative(),
  /** Set when media is held far below what bulk TCP gets on the same path: where the cap sits. */
  capKbps: z.number().nonnegative().nullable(),
  throttled: z.boolean(),
  note: z.string().max(300).optional(),
});
export type ThrottleResult = z.infer<typeof throttleResultSchema>;

export const usageSchema = z.strictObject({
  cpuMs: z.number().nonnegative(),
  /** CPU time over wall time, in percent of one core. */
  cpuPercent: z.number().nonnegative(),
  maxRssBytes: z.number().int().nonnegative(),
});
export type TestUsage = z.infer<typeof usageSchema>;

export const networkResultSchema = z.strictObject({
  test: z.literal('network'),
  reflectorId: z.string().max(64),
  sessionId: z.uuid(),
  durationMs: ms,
  /** Round trip over the run: the median of pings over the data channel every 20 ms (the mean of RTCP when no ping came back); null when neither did. */
  rttMs: ms.nullable(),
  rttSamples: z.number().int().nonnegative(),
  /** The same from RTCP sender and receiver reports (about one a second): a second opinion. */
  rttRtcpMs: ms.nullable(),
  up: directionResultSchema.nullable(),
  down: directionResultSchema,
  availableOutgoingKbps: z.number().nonnegative().nullable(),
  /** The E-model of the worse direction, one-way latency = RTT / 2. */
  quality: callQualitySchema,
  verdict: pathVerdictSchema,
  missed: z.array(z.string().max(32)).max(8),
  throttle: throttleResultSchema.nullable(),
  usage: usageSchema.optional(),
});
export type NetworkResult = z.infer<typeof networkResultSchema>;

export const syncVerdictSchema = z.enum(['imperceptible', 'detectable', 'unacceptable', 'not-enough-markers']);

export const syncSummarySchema = z.strictObject({
  markers: z.number().int().nonnegative(),
  offsetMs: z.number(),
  rawOffsetMs: z.number(),
  baselineMs: z.number(),
  spreadMs: z.number().nonnegative(),
  minMs: z.number(),
  maxMs: z.number(),
  verdict: syncVerdictSchema,
});

export const avsyncResultSchema = z.strictObject({
  test: z.literal('avsync'),
  /** pipeline: synthetic markers through encode and decode; room: the room's display, speakers, camera and microphone. */
  mode: z.enum(['pipeline', 'room']),
  /** Offset sign: positive = sound ahead of picture (ITU-R BT.1359). */
  summary: syncSummarySchema,
  markersSent: z.number().int().nonnegative(),
  /** Why the room chain was not measured (no camera, microphone or display), or why it found too few markers. */
  roomUnavailable: z.array(z.string().max(200)).max(8),
  /** The pipeline's own offset, beside a room result: the check that the measuring chain works on this PC. */
  pipeline: syncSummarySchema.optional(),
  /** What the room chain used and saw, when it ran. */
  room: z
    .strictObject({
      camera: z.string().max(256),
      microphone: z.string().max(256),
      display: z.string().max(64),
      flashesSeen: z.number().int().nonnegative(),
      beepsHeard: z.number().int().nonnegative(),
      /** How much the flash brightened the camera's picture, in luma levels. */
      flashContrast: z.number().nonnegative(),
      /** The beep's power over the room's noise at 1 kHz. */
      toneToNoise: z.number().nonnegative(),
    })
    .optional(),
  usage: usageSchema.optional(),
});
export type AvsyncResult = z.infer<typeof avsyncResultSchema>;

export const testResultSchema = z.discriminatedUnion('test', [networkResultSchema, avsyncResultSchema]);
export type TestResult = z.infer<typeof testResultSchema>;
