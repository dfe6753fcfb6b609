/**
 * The throttling check's wire format between an agent and a reflector's probe port (see
 * cloud/reflector/probe-server.ts): what a UDP datagram carries, and what the TCP side answers.
 */
import { z } from 'zod';

/** The token's length in characters (base64url of 24 random bytes), and its length at the start of each datagram. */
export const PROBE_TOKEN_BYTES = 32;
/** Each datagram: token, step number (u8), sequence (u32), padding to a media packet's size. */
export const PROBE_DATAGRAM_BYTES = 1200;

export const probeStepCountSchema = z.strictObject({
  step: z.number().int().min(0).max(255),
  packets: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  firstMs: z.number(),
  lastMs: z.number(),
});
export type ProbeStepCount = z.infer<typeof probeStepCountSchema>;

export const probeReportSchema = z.strictObject({ steps: z.array(probeStepCountSchema).max(32) });
export const uploadResultSchema = z.strictObject({ bytes: z.number().int().nonnegative(), ms: z.number().positive() });
