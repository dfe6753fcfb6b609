/**
 * What some remote-session actions answer, for the agent that makes the answer and the engineer's
 * CLI that shows it: a probe's devices with how each probe source fared, so "no USB bus" never
 * reads as "nothing plugged in".
 */
import { z } from 'zod';
import { deviceSchema } from './device.js';
import { sourceStatusSchema } from './source.js';

export const inventorySnapshotSchema = z.object({
  /** When the probe cycle ended, on the PC's clock. */
  at: z.iso.datetime(),
  devices: z.array(deviceSchema),
  sources: z.array(sourceStatusSchema),
});
export type InventorySnapshot = z.infer<typeof inventorySnapshotSchema>;
