import { z } from 'zod';
import { faultCodeSchema } from './fault-codes.js';
import { faultMessageText, inventoryMessageSchema } from './messages.js';
import { faultCategorySchema, severitySchema } from './severity.js';
import { systemSnapshotSchema } from './system.js';

/**
 * A fault one probe cycle saw, before hysteresis: what `avcare-agent probe` lists, with the
 * self-help a person can try. Its code, severity and category are the fault code's defaults.
 */
export const detectedFaultSchema = z.object({
  code: faultCodeSchema,
  severity: severitySchema,
  category: faultCategorySchema,
  /** null for faults of the PC itself (disk, CPU). */
  deviceId: z.string().max(256).nullable(),
  message: z.string().max(2000),
  ...faultMessageText,
  evidence: z.record(z.string(), z.unknown()),
  selfHelp: z.array(z.string().max(1000)).max(20),
});
export type DetectedFault = z.infer<typeof detectedFaultSchema>;

/** A line of a replayed `lsusb -v` dump that was not used, and why (prose, lsusb's complaints, a cut-off device). */
export const skippedLineSchema = z.object({
  line: z.number().int().min(0),
  text: z.string().max(400),
  kind: z.enum(['preamble', 'lsusb-note', 'prose', 'incomplete']),
  reason: z.string().max(200),
  ids: z.string().max(16).optional(),
});

/**
 * `avcare-agent probe --json`: the inventory message (so `probe --replay` and the cloud read it
 * as one) with what the human output shows besides: the PC's own state and the cycle's faults.
 */
export const probeResultSchema = inventoryMessageSchema.extend({
  system: systemSnapshotSchema.optional(),
  faults: z.array(detectedFaultSchema),
  /** `probe --replay`: which file was read and what of it was not used. */
  replay: z
    .object({
      file: z.string().max(4096),
      skippedLines: z.array(skippedLineSchema).max(500),
      skippedTotal: z.number().int().min(0),
      /** What each pasted Linux tool showed, in English (the human output prints it in the reader's language). */
      concluded: z.array(z.object({ tool: z.string().max(64), text: z.string().max(2000) })).max(200).optional(),
    })
    .optional(),
});
export type ProbeResult = z.infer<typeof probeResultSchema>;
