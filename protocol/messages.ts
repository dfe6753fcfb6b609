import { z } from 'zod';
import { deviceSchema } from './device.js';
import { faultCodeSchema } from './fault-codes.js';
import { topicIdSchema } from './ids.js';
import { faultCategorySchema, severitySchema } from './severity.js';
import { sourceStatusSchema } from './source.js';
import { systemSnapshotSchema } from './system.js';
import { SCHEMA_VERSION } from './version.js';

const header = {
  schemaVersion: z.literal(SCHEMA_VERSION),
  /** Unique per event: the cloud de-duplicates at-least-once delivery on it. */
  eventId: z.uuid(),
  agentId: topicIdSchema,
  schoolId: topicIdSchema,
  roomId: topicIdSchema,
  at: z.iso.datetime({ offset: true }),
  /**
   * Per-agent sequence number assigned by the agent's outbox, increasing by one per event, so the
   * cloud can store events in order and see gaps. Absent only in output that never leaves the PC
   * (`probe --json`).
   */
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
};

export const inventoryMessageSchema = z.object({
  ...header,
  type: z.literal('inventory'),
  devices: z.array(deviceSchema).max(512),
  sources: z.array(sourceStatusSchema),
});
export type InventoryMessage = z.infer<typeof inventoryMessageSchema>;

/** What the agent's outbox had to do since the last health sample: every drop is reported. */
export const outboxStatsSchema = z.object({
  pending: z.number().int().nonnegative(),
  droppedHealth: z.number().int().nonnegative().describe('Oldest health samples thinned because the outbox was full'),
  droppedOther: z.number().int().nonnegative().describe('Other events dropped (never faults unless the outbox is full of faults)'),
  droppedFaults: z.number().int().nonnegative(),
});
export type OutboxStats = z.infer<typeof outboxStatsSchema>;

export const healthMessageSchema = z.object({
  ...header,
  type: z.literal('health'),
  system: systemSnapshotSchema,
  outbox: outboxStatsSchema.optional(),
});
export type HealthMessage = z.infer<typeof healthMessageSchema>;

export const faultMessageSchema = z.object({
  ...header,
  type: z.literal('fault'),
  state: z.enum(['raised', 'cleared']),
  code: faultCodeSchema,
  category: faultCategorySchema,
  severity: severitySchema,
  /** null for faults of the PC itself (disk, CPU). */
  deviceId: z.string().max(256).nullable(),
  message: z.string().max(2000),
  /** The probe data that shows the fault, so nobody has to ask the school for it. */
  evidence: z.record(z.string(), z.unknown()),
  firstSeenAt: z.iso.datetime({ offset: true }),
});
export type FaultMessage = z.infer<typeof faultMessageSchema>;

export const measurementMessageSchema = z.object({
  ...header,
  type: z.literal('measurement'),
  name: z.string().min(1).max(128),
  value: z.number(),
  unit: z.string().max(32),
  deviceId: z.string().max(256).nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type MeasurementMessage = z.infer<typeof measurementMessageSchema>;

export const statusMessageSchema = z.object({
  ...header,
  type: z.literal('status'),
  state: z.enum(['online', 'offline']),
  agentVersion: z.string(),
  reason: z.string().max(256).optional(),
});
export type StatusMessage = z.infer<typeof statusMessageSchema>;

export const agentMessageSchema = z.discriminatedUnion('type', [
  inventoryMessageSchema,
  healthMessageSchema,
  faultMessageSchema,
  measurementMessageSchema,
  statusMessageSchema,
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;
export type MessageKind = AgentMessage['type'];
