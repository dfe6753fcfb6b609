import { z } from 'zod';

export const probeSourceSchema = z.enum(['system', 'usb', 'media', 'serial', 'pjlink', 'visca-ip', 'adb']);
export type ProbeSource = z.infer<typeof probeSourceSchema>;

/**
 * How one probe source fared in a cycle. "unavailable" is a state of the PC (no USB bus, no
 * ALSA), reported with its reason; "error" is a probe that failed or timed out.
 */
export const sourceStatusSchema = z.object({
  source: probeSourceSchema,
  state: z.enum(['ok', 'unavailable', 'error']),
  /** In English, for logs, JSON and the cloud. */
  reason: z.string().optional(),
  /** The reason as a message catalog key and its parameters, so a person reads it in their language. */
  reasonKey: z.string().max(64).optional(),
  reasonParams: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  errorCode: z.string().optional(),
  durationMs: z.number().nonnegative(),
});
export type SourceStatus = z.infer<typeof sourceStatusSchema>;
