/**
 * Signalling of a measurement session between an agent, the cloud and a WebRTC reflector. It
 * travels over the agent's own MQTT connection, so a PC needs no port but MQTT and the media flow:
 *
 *   agent -> cloud      avcare/v1/<school>/<room>/<agent>/signal   (AgentSignal)
 *   cloud -> agent      avcare/to/v1/<school>/<agent>/signal       (CloudSignal)
 *
 * 1. The agent asks for a session (`measure-request`); the cloud answers with a grant it signed
 *    (Ed25519, the key the agent pinned at enrolment) naming the session, the agent and the
 *    reflector to use, or with a refusal.
 * 2. The agent sends its `offer` with the grant; the named reflector checks the signature, that the
 *    grant is for the agent whose topic the offer came on, unexpired and unused, and answers.
 * 3. ICE candidates both ways, then media; `bye` ends it early.
 *
 * The broker's ACL makes the topic the sender's identity: an agent can publish only on its own.
 */
import { z } from 'zod';
import { agentInboxTopic, INBOX_ROOT, parseAgentTopicOfKind, TOPIC_ROOT } from './topics.js';
import { topicIdSchema } from './ids.js';
import { readJsonMessage } from './read-message.js';
import { signedPayloadSchema } from './signed-payload.js';

export const SIGNAL_KIND = 'signal';
/** A reflector's id names it in grants and logs; the same characters as topic ids. */
export const reflectorIdSchema = topicIdSchema;

export const MEASURE_TESTS = ['network', 'avsync'] as const;
export const measureTestSchema = z.enum(MEASURE_TESTS);
export type MeasureTest = z.infer<typeof measureTestSchema>;

/** Data channels of a network test: the reflector echoes pings, and reports what it received when asked. */
export const PING_CHANNEL = 'avcare-ping';
export const REPORT_CHANNEL = 'avcare-report';

/** SDP of one audio, one video and one data section is 3-6 KB; anything near this is not ours. */
export const MAX_SDP_BYTES = 32 * 1024;

/** What the cloud signs. Kept as the exact JSON text it signed, so nobody has to canonicalise. */
export const grantPayloadSchema = z.strictObject({
  sessionId: z.uuid(),
  schoolId: topicIdSchema,
  agentId: topicIdSchema,
  reflectorId: reflectorIdSchema,
  test: measureTestSchema,
  issuedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type GrantPayload = z.infer<typeof grantPayloadSchema>;

/** A grant is small: its signed text is bounded tighter than other signed payloads. */
export const signedGrantSchema = signedPayloadSchema.extend({ payload: z.string().min(2).max(2048) });
export type SignedGrant = z.infer<typeof signedGrantSchema>;

export const iceCandidateSchema = z.strictObject({
  candidate: z.string().max(1024),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
});

const sdpSchema = z
  .string()
  .min(1)
  .refine((sdp) => Buffer.byteLength(sdp) <= MAX_SDP_BYTES, `must be at most ${MAX_SDP_BYTES} bytes`)
  .refine((sdp) => sdp.startsWith('v=0'), 'is not SDP (must start with "v=0")');

export const agentSignalSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('measure-request'), requestId: z.uuid(), test: measureTestSchema }),
  z.strictObject({ type: z.literal('offer'), sessionId: z.uuid(), grant: signedGrantSchema, sdp: sdpSchema }),
  z.strictObject({ type: z.literal('candidate'), sessionId: z.uuid(), candidate: iceCandidateSchema }),
  z.strictObject({ type: z.literal('bye'), sessionId: z.uuid() }),
]);
export type AgentSignal = z.infer<typeof agentSignalSchema>;

/**
 * Where the throttling check goes: a media-like UDP flow and a bulk TCP transfer to the reflector's
 * probe port, with the one-session token they present. Without `host`, the agent uses the address
 * its media reached the reflector at.
 */
export const bulkEndpointSchema = z.strictObject({
  host: z.string().min(1).max(253).optional(),
  tcpPort: z.number().int().min(1).max(65535),
  udpPort: z.number().int().min(1).max(65535),
  token: z.string().length(32).regex(/^[A-Za-z0-9_-]+$/),
});
export type BulkEndpoint = z.infer<typeof bulkEndpointSchema>;

/** Why the cloud asks an agent to test: its schedule in school hours, the check before a lesson, or a person in the console ("run a network test now"). */
export const askReasonSchema = z.enum(['schedule', 'room-ready', 'on-demand']);
export type AskReason = z.infer<typeof askReasonSchema>;

export const cloudSignalSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('measure-ask'), askId: z.uuid(), tests: z.array(measureTestSchema).min(1).max(2), reason: askReasonSchema, lessonAt: z.iso.datetime({ offset: true }).optional() }),
  z.strictObject({ type: z.literal('measure-grant'), requestId: z.uuid(), grant: signedGrantSchema }),
  z.strictObject({ type: z.literal('measure-refused'), requestId: z.uuid(), reason: z.string().max(500) }),
  z.strictObject({ type: z.literal('answer'), sessionId: z.uuid(), sdp: sdpSchema, bulk: bulkEndpointSchema.optional() }),
  z.strictObject({ type: z.literal('candidate'), sessionId: z.uuid(), candidate: iceCandidateSchema }),
  z.strictObject({ type: z.literal('session-refused'), sessionId: z.uuid(), reason: z.string().max(500) }),
]);
export type CloudSignal = z.infer<typeof cloudSignalSchema>;

export interface SignalSender {
  school: string;
  room: string;
  agent: string;
}

/** The topic an agent publishes its signalling on. */
export function agentSignalTopic(sender: SignalSender): string {
  for (const part of ['school', 'room', 'agent'] as const) topicIdSchema.parse(sender[part]);
  return `${TOPIC_ROOT}/${sender.school}/${sender.room}/${sender.agent}/${SIGNAL_KIND}`;
}

/** Every agent's signalling: what a reflector and the cloud subscribe to. */
export function signalFilter(): string {
  return `${TOPIC_ROOT}/+/+/+/${SIGNAL_KIND}`;
}

/** The agent's half: answers, candidates and grants addressed to it. */
export function agentSignalInbox(school: string, agent: string): string {
  return agentInboxTopic(school, agent, SIGNAL_KIND);
}

/** Every agent's signalling inbox: what a reflector may answer into. */
export function signalInboxFilter(): string {
  return `${INBOX_ROOT}/+/+/${SIGNAL_KIND}`;
}

/** True for an agent's signalling inbox (avcare/to/v1/<school>/<agent>/signal) and nothing else. */
export function isAgentSignalInbox(topic: string): boolean {
  const parts = topic.split('/');
  return (
    parts.length === 6 &&
    parts.slice(0, 3).join('/') === INBOX_ROOT &&
    parts[5] === SIGNAL_KIND &&
    topicIdSchema.safeParse(parts[3]).success &&
    topicIdSchema.safeParse(parts[4]).success
  );
}

/** The sender of a signalling topic; null for any other topic. */
export function parseSignalTopic(topic: string): SignalSender | null {
  return parseAgentTopicOfKind(topic, SIGNAL_KIND);
}

/** Parses a grant's signed text; the signature must have been checked first. */
export function readGrantPayload(grant: SignedGrant): GrantPayload | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(grant.payload);
  } catch {
    return { error: 'the grant payload is not JSON' };
  }
  const parsed = grantPayloadSchema.safeParse(json);
  if (!parsed.success) return { error: `the grant payload is invalid: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim() };
  return parsed.data;
}

/** Signalling is small: SDP under MAX_SDP_BYTES plus the grant. */
export const MAX_SIGNAL_BYTES = 40 * 1024;

/** An agent's signalling message from its bytes: the message, or why it is refused (for the log and the metric). */
export function readAgentSignal(payload: Buffer): { signal: AgentSignal } | { reason: 'oversize' | 'bad-json' | 'schema'; detail: string } {
  const read = readJsonMessage(agentSignalSchema, payload, MAX_SIGNAL_BYTES);
  return 'message' in read ? { signal: read.message } : read;
}
