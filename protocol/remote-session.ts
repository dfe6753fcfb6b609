/**
 * Remote diagnosis sessions: what an engineer may ask a classroom PC to do, and only inside a
 * session the school consented to.
 *
 *   cloud -> agent   avcare/to/v1/<school>/<agent>/session   (CloudSessionMessage: signed)
 *   agent -> cloud   avcare/v1/<school>/<room>/<agent>/session (AgentSessionMessage)
 *
 * Every consent request, command and session end the cloud sends is signed (Ed25519, the key the
 * agent pinned at enrolment) over its exact JSON text. The cloud checks the consent before it
 * signs a command and stamps it on the command with the engineer's identity; the agent checks the
 * signature, the expiry, the nonce (never twice, also across restarts) and its own record of the
 * consent before it acts, and answers with the command's id.
 *
 * No action is a shell and none reads a file outside the diagnostic bundle. A camera snapshot and
 * an audio clip are privacy scopes: off unless the school granted them by name.
 */
import { z } from 'zod';
import { APPROVER_POLICIES, type ApproverPolicy } from './views/session-view.js';
import { isPrivacyAction, PRIVACY_ACTIONS, SESSION_ACTION_NAMES, type SessionAction } from './session-actions.js';
import { topicIdSchema } from './ids.js';
import { androidPackageSchema } from './device.js';
import { agentInboxTopic, parseAgentTopicOfKind, SESSION_KIND, TOPIC_ROOT } from './topics.js';

export { SESSION_KIND };
import { readJsonMessage, type ReadMessage } from './read-message.js';
import { signedPayloadSchema } from './signed-payload.js';


/** Where an agent answers: consent given at the PC, revocations, command results. */
export function agentSessionTopic(sender: { school: string; room: string; agent: string }): string {
  for (const part of ['school', 'room', 'agent'] as const) topicIdSchema.parse(sender[part]);
  return `${TOPIC_ROOT}/${sender.school}/${sender.room}/${sender.agent}/${SESSION_KIND}`;
}

/** The sender of an agent's session topic; null for any other topic. */
export function parseSessionTopic(topic: string): { school: string; room: string; agent: string } | null {
  return parseAgentTopicOfKind(topic, SESSION_KIND);
}

/** Where the cloud's signed session messages reach an agent. */
export function agentSessionInbox(school: string, agent: string): string {
  return agentInboxTopic(school, agent, SESSION_KIND);
}

/** A USB port as sysfs names it: bus-port[.port...] ("1-1.4"). */
const usbPortSchema = z.string().regex(/^\d{1,3}-\d{1,3}(\.\d{1,3}){0,6}$/, 'must be a USB port like 1-1.4');

/** The config keys an engineer may set, each checked against the agent's own schema before it is written. */
export const SETTABLE_CONFIG_KEYS = [
  'logLevel',
  'healthIntervalSeconds',
  'measure.durationSeconds',
  'measure.videoKbps',
  'measure.acceptCloudRequests',
  'measure.room.enabled',
  'measure.room.camera',
  'measure.room.microphone',
  'measure.room.display',
] as const;

/** Each action with the arguments it takes; nothing else can be asked. */
export const ACTION_ARGUMENTS = {
  reprobe: z.strictObject({}),
  inventory: z.strictObject({}),
  'health-snapshot': z.strictObject({}),
  'fetch-logs': z.strictObject({ lines: z.number().int().min(1).max(2000).default(200) }),
  'network-test': z.strictObject({}),
  'avsync-test': z.strictObject({}),
  'usb-reset': z.strictObject({ port: usbPortSchema }),
  /** A camera the agent probes over VISCA: its serial port path or its VISCA-over-IP target id. */
  'visca-power-cycle': z.strictObject({ camera: z.string().min(1).max(128) }),
  'restart-agent': z.strictObject({}),
  'diagnostic-bundle': z.strictObject({}),
  'set-config': z.strictObject({ key: z.enum(SETTABLE_CONFIG_KEYS), value: z.union([z.string().max(256), z.number(), z.boolean()]) }),
  'camera-snapshot': z.strictObject({ camera: z.string().max(128).optional() }),
  'audio-clip': z.strictObject({ seconds: z.number().int().min(1).max(10).default(5) }),
  /** A headset by its configured name, serial or id (adb:SERIAL); apps only among the room's configured VR apps, checked by the agent. */
  'vr-status': z.strictObject({ headset: z.string().min(1).max(320) }),
  'vr-app-restart': z.strictObject({ headset: z.string().min(1).max(320), app: androidPackageSchema }),
  'vr-crash-log': z.strictObject({ headset: z.string().min(1).max(320), app: androidPackageSchema, entries: z.number().int().min(1).max(20).default(5) }),
  // Exactly the names of session-actions.ts: one missing here, or one extra, does not compile.
} as const satisfies Record<SessionAction, z.ZodType>;

export { isPrivacyAction, PRIVACY_ACTIONS, type SessionAction };
export const SESSION_ACTIONS: readonly SessionAction[] = SESSION_ACTION_NAMES;
export const sessionActionSchema = z.enum(SESSION_ACTION_NAMES);

/** Who may say yes: the school's admins only, or also the teacher at the PC. */
export const approverPolicySchema = z.enum(APPROVER_POLICIES);
export type { ApproverPolicy };

const isoTime = z.iso.datetime({ offset: true });
const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16-64 url-safe characters');

/** Every signed session message names its session and the one agent it is for; the agent refuses any other. */
const addressedToAgent = { sessionId: z.uuid(), schoolId: topicIdSchema, agentId: topicIdSchema };

export const engineerSchema = z.strictObject({
  accountId: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  teamId: z.string().max(64).nullable(),
});

/** The consent request the cloud signs: what the engineer wants, for how long, and by when the school must answer. */
export const sessionRequestPayloadSchema = z.strictObject({
  kind: z.literal('session-request'),
  ...addressedToAgent,
  engineer: engineerSchema,
  reason: z.string().min(1).max(500),
  scopes: z.array(sessionActionSchema).min(1).max(SESSION_ACTIONS.length),
  requestedAt: isoTime,
  /** No answer by then is a refusal: there is no auto-accept. */
  answerBy: isoTime,
  /** How long the session lasts once approved, in minutes (the school's policy caps it). */
  durationMinutes: z.number().int().min(1).max(24 * 60),
  approvers: approverPolicySchema,
  nonce: nonceSchema,
});
export type SessionRequestPayload = z.infer<typeof sessionRequestPayloadSchema>;

/** The consent as the cloud recorded it, stamped on every command it signs. */
export const consentStampSchema = z.strictObject({
  approvedBy: z.string().min(1).max(128),
  approvedAt: isoTime,
  scopes: z.array(sessionActionSchema).min(1),
  sessionExpiresAt: isoTime,
});
export type ConsentStamp = z.infer<typeof consentStampSchema>;

export const commandPayloadSchema = z.strictObject({
  kind: z.literal('command'),
  /** The correlation id the agent answers with. */
  commandId: z.uuid(),
  ...addressedToAgent,
  engineer: engineerSchema,
  action: sessionActionSchema,
  args: z.record(z.string(), z.unknown()),
  nonce: nonceSchema,
  issuedAt: isoTime,
  expiresAt: isoTime,
  consent: consentStampSchema,
});
export type CommandPayload = z.infer<typeof commandPayloadSchema>;

/** The school's admin approved in the cloud: the agent records it (a revocation at the PC stays final). */
export const sessionApprovedPayloadSchema = z.strictObject({
  kind: z.literal('session-approved'),
  ...addressedToAgent,
  consent: consentStampSchema,
  nonce: nonceSchema,
});
export type SessionApprovedPayload = z.infer<typeof sessionApprovedPayloadSchema>;

export const sessionEndPayloadSchema = z.strictObject({
  kind: z.literal('session-end'),
  ...addressedToAgent,
  reason: z.enum(['revoked', 'closed', 'expired', 'denied', 'timed-out']),
  by: z.string().min(1).max(128),
  at: isoTime,
  nonce: nonceSchema,
});
export type SessionEndPayload = z.infer<typeof sessionEndPayloadSchema>;

export const signedSessionPayloadSchema = z.discriminatedUnion('kind', [sessionRequestPayloadSchema, sessionApprovedPayloadSchema, commandPayloadSchema, sessionEndPayloadSchema]);
export type SignedSessionPayload = z.infer<typeof signedSessionPayloadSchema>;

/** Cloud to agent: always signed; the agent reads the payload only after the signature checked out. */
export const cloudSessionMessageSchema = z.strictObject({ type: z.literal('signed'), signed: signedPayloadSchema });
export type CloudSessionMessage = z.infer<typeof cloudSessionMessageSchema>;

/** Why the agent refused a command: stable codes the cloud records in the audit log. */
export const REFUSAL_CODES = [
  'MALFORMED',
  'WRONG_KEY',
  'BAD_SIGNATURE',
  'WRONG_AGENT',
  'EXPIRED',
  'NOT_YET_VALID',
  'REPLAYED',
  'NO_CONSENT',
  'CONSENT_MISMATCH',
  'SESSION_REVOKED',
  'SESSION_EXPIRED',
  'OUT_OF_SCOPE',
  'PRIVACY_SCOPE_MISSING',
  'BAD_ARGUMENTS',
] as const;
export const refusalCodeSchema = z.enum(REFUSAL_CODES);
export type RefusalCode = z.infer<typeof refusalCodeSchema>;

/** Results are bounded: a command answers in one message the broker carries. */
export const MAX_RESULT_BYTES = 64 * 1024;

export const agentSessionMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('consent-answer'),
    sessionId: z.uuid(),
    decision: z.enum(['approve', 'deny']),
    by: z.string().min(1).max(128),
    at: isoTime,
    /** An approval's end as the PC recorded it: the cloud stamps this on the session's commands. */
    expiresAt: isoTime.optional(),
    /** The actions approved at the PC: privacy ones only when the person granted them by name. */
    scopes: z.array(sessionActionSchema).min(1).optional(),
  }),
  /** A message the agent refused before it could trust a word of it (bad signature, another key, malformed): reported so the cloud can audit it. */
  z.strictObject({ type: z.literal('message-refused'), code: refusalCodeSchema, reason: z.string().max(500), at: isoTime, claimedCommandId: z.uuid().optional() }),
  z.strictObject({ type: z.literal('session-revoked'), sessionId: z.uuid(), by: z.string().min(1).max(128), at: isoTime, reason: z.string().max(500).nullable() }),
  z.strictObject({
    type: z.literal('command-result'),
    commandId: z.uuid(),
    sessionId: z.uuid().nullable(),
    status: z.enum(['ok', 'failed', 'refused']),
    result: z.unknown().optional(),
    error: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
    startedAt: isoTime,
    finishedAt: isoTime,
  }),
]);
export type AgentSessionMessage = z.infer<typeof agentSessionMessageSchema>;

/** An agent's answer is one MQTT message: a result (64 KB) and its envelope. */
export const MAX_AGENT_SESSION_MESSAGE_BYTES = MAX_RESULT_BYTES + 8 * 1024;

/** Reads an agent's session message; the reason says what was wrong with it. */
export function readAgentSessionMessage(payload: Buffer): ReadMessage<AgentSessionMessage> {
  return readJsonMessage(agentSessionMessageSchema, payload, MAX_AGENT_SESSION_MESSAGE_BYTES);
}
