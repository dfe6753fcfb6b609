/**
 * What the agent and its test child say to each other over the IPC channel. The child is our own
 * code, but it runs native media libraries: its messages are parsed like any other.
 */
import { z } from 'zod';
import { agentSignalSchema, cloudSignalSchema, measureTestSchema } from '../../protocol/measure-signal.js';
import { testResultSchema, usageSchema } from '../../protocol/measure-result.js';

export const testSettingsSchema = z.strictObject({
  durationMs: z.number().int().min(1_000).max(120_000).optional(),
  bitrateKbps: z.number().int().min(100).max(20_000).optional(),
  width: z.number().int().min(160).max(3840).optional(),
  height: z.number().int().min(120).max(2160).optional(),
  markers: z.number().int().min(10).max(60).optional(),
  /** The room chain: on unless turned off, devices found unless named. */
  room: z
    .strictObject({
      enabled: z.boolean(),
      camera: z.string().max(256).optional(),
      microphone: z.string().max(256).optional(),
      display: z.string().max(64).optional(),
    })
    .optional(),
  /** Tests and calibration only: a sound shift injected on the sender. */
  audioShiftMs: z.number().min(-500).max(500).optional(),
});
export type TestSettings = z.infer<typeof testSettingsSchema>;

export const toChildSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('run'), test: measureTestSchema, settings: testSettingsSchema }),
  z.strictObject({ type: z.literal('signal'), message: cloudSignalSchema }),
]);
export type ToChild = z.infer<typeof toChildSchema>;

export const progressSchema = z.strictObject({
  phase: z.enum(['starting', 'requesting', 'connecting', 'measuring', 'room', 'throttling', 'finishing']),
  elapsedMs: z.number().nonnegative().optional(),
  durationMs: z.number().nonnegative().optional(),
  rttMs: z.number().nonnegative().nullable().optional(),
  downKbps: z.number().nonnegative().optional(),
  markersSeen: z.number().int().nonnegative().optional(),
});
export type TestProgress = z.infer<typeof progressSchema>;

export const fromChildSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('signal'), message: agentSignalSchema }),
  z.strictObject({ type: z.literal('progress'), progress: progressSchema }),
  z.strictObject({ type: z.literal('result'), result: testResultSchema, usage: usageSchema }),
  z.strictObject({ type: z.literal('failed'), code: z.string().max(64), message: z.string().max(2000), usage: usageSchema }),
]);
export type FromChild = z.infer<typeof fromChildSchema>;
