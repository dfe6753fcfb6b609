import { z } from 'zod';
import { deviceSchema } from './device.js';
import { outboxStatsSchema } from './outbox-stats.js';
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
export { outboxStatsSchema, type OutboxStats } from './outbox-stats.js';

export const healthMessageSchema = z.object({
  ...header,
  type: z.literal('health'),
  system: systemSnapshotSchema,
  outbox: outboxStatsSchema.optional(),
});
export type HealthMessage = z.infer<typeof healthMessageSchema>;

/**
 * The message as data: the agent's catalog key and its parameters, so a reader's own language can
 * render it later; `message` is the same in English. Optional: older agents send only `message`.
 */
export const faultMessageText = {
  messageKey: z.string().max(128).regex(/^faults\.[A-Za-z0-9_.]+$/).optional(),
  params: z.record(z.string().max(64), z.union([z.string().max(2000), z.number()])).optional(),
};

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
  ...faultMessageText,
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

/**
 * Bounds of a teacher's report. The whole message stays under REPORT_MAX_BYTES, below the
 * collector's default payload limit of 256 KiB with room for the outbox's seq and MQTT framing;
 * the list caps below keep a normal bundle far under it, and the agent shrinks an abnormal one
 * (see agent/report.ts) rather than send something the collector would drop.
 */
export const REPORT_LIMITS = {
  textChars: 2000,
  reporterChars: 128,
  inventoryDevices: 128,
  recentHealth: 10,
  openFaults: 64,
  logLines: 50,
  logLineChars: 500,
} as const;
export const REPORT_MAX_BYTES = 240 * 1024;

/** One health sample in a few numbers: the report carries ten of them, not ten full snapshots. */
export const healthSummarySchema = z.object({
  at: z.iso.datetime({ offset: true }),
  cpuLoadPercent: z.number().min(0).max(100),
  memoryAvailableBytes: z.number().nonnegative(),
  memoryTotalBytes: z.number().nonnegative(),
  cpuTemperatureC: z.number().nullable(),
  fullestDiskUsePercent: z.number().min(0).max(100).nullable().describe('The fullest disk; null when no disk was readable'),
});
export type HealthSummary = z.infer<typeof healthSummarySchema>;

/** A fault the agent holds raised when the report is made. */
export const openFaultSchema = z.object({
  code: faultCodeSchema,
  deviceId: z.string().max(256).nullable(),
  message: z.string().max(2000),
  /** When the running agent first saw it; absent for a fault seen only by the report's own probe. */
  firstSeenAt: z.iso.datetime({ offset: true }).optional(),
});
export type OpenFault = z.infer<typeof openFaultSchema>;

/** What the agent attaches to a teacher's report by itself, so nobody has to ask the school for it. */
export const reportBundleSchema = z.object({
  inventory: z.array(deviceSchema).max(REPORT_LIMITS.inventoryDevices).describe("The devices of the report's own probe cycle"),
  /** How each probe source fared in that cycle: an empty inventory means something only next to "usb unavailable". */
  sources: z.array(sourceStatusSchema).max(16),
  system: systemSnapshotSchema.nullable(),
  recentHealth: z.array(healthSummarySchema).max(REPORT_LIMITS.recentHealth).describe('Oldest first: samples kept by the running agent, then one taken by the report'),
  openFaults: z.array(openFaultSchema).max(REPORT_LIMITS.openFaults),
  faultsFrom: z.enum(['daemon', 'probe']).describe('daemon: raised by the running agent, after hysteresis; probe: seen by the report\'s single probe cycle because no agent was running'),
  logExcerpt: z.array(z.string().max(REPORT_LIMITS.logLineChars)).max(REPORT_LIMITS.logLines).describe("The agent's recent log lines, oldest first, secrets removed"),
  truncated: z.boolean().describe('true when parts were left out to stay under REPORT_MAX_BYTES'),
});
export type ReportBundle = z.infer<typeof reportBundleSchema>;

/** A problem a person in the room reports in their own words (`avcare-agent report`), with the agent's diagnostic bundle. */
export const reportMessageSchema = z
  .object({
    ...header,
    type: z.literal('report'),
    text: z.string().trim().min(1, 'must not be empty').max(REPORT_LIMITS.textChars, `must be at most ${REPORT_LIMITS.textChars} characters`),
    reporter: z.string().trim().min(1).max(REPORT_LIMITS.reporterChars).optional().describe('Who typed it: --by, else the OS user name'),
    deviceId: z.string().min(1).max(320).optional().describe('A device id from `avcare-agent probe --json` the person named'),
    bundle: reportBundleSchema,
  })
  .refine((message) => jsonBytes(message) <= REPORT_MAX_BYTES, { message: `the report is over ${REPORT_MAX_BYTES} bytes as JSON`, path: ['bundle'] });
export type ReportMessage = z.infer<typeof reportMessageSchema>;

const utf8 = new TextEncoder();

/** Size of a value as the compact JSON the agent publishes. */
export function jsonBytes(value: unknown): number {
  return utf8.encode(JSON.stringify(value)).byteLength;
}

export const agentMessageSchema = z.discriminatedUnion('type', [
  inventoryMessageSchema,
  healthMessageSchema,
  faultMessageSchema,
  measurementMessageSchema,
  statusMessageSchema,
  reportMessageSchema,
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;
export type MessageKind = AgentMessage['type'];
