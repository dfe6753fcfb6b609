import { agentMessageSchema, parseTopic, SCHEMA_VERSION, type AgentMessage, type TopicAddress } from '../../protocol/index.js';
import type { RejectReason } from '../metrics.js';
import { compileMessageChecks, type CompiledCheck } from './compiled-schemas.js';

/**
 * Nesting deeper than this is refused: free-form fields (fault evidence, measurement details)
 * accept any JSON, and a 10,000-deep value parses fine but overflows the stack later in
 * JSON.stringify when the store writes it. Real messages nest less than ten levels.
 */
export const MAX_JSON_DEPTH = 32;

/** The authenticated agent a message came from, when the broker tells (the embedded one does). */
export interface MessageSender {
  schoolId: string;
  agentId: string;
}

export type GateResult =
  | { ok: true; message: AgentMessage; address: TopicAddress }
  | { ok: false; reason: RejectReason; detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Compiled at the first message (~0.2 s), not at import: the agent's tests import the protocol, not this. */
let compiledChecks: ReadonlyMap<string, CompiledCheck> | undefined;

/**
 * Decides whether one MQTT message may be stored: size first (before any parsing, so an
 * oversize payload costs nothing), then topic, JSON, schema version, schema, and finally that the
 * topic names the same school, room, agent and kind as the body, so an agent cannot write as
 * another agent; with a sender, also that the topic is the sender's own. Never throws: every
 * failure is a reason.
 */
export function gateMessage(topic: string, payload: Buffer, maxPayloadBytes: number, sender?: MessageSender): GateResult {
  if (payload.length > maxPayloadBytes) {
    return reject('oversize', `${payload.length} bytes is over the limit of ${maxPayloadBytes}`);
  }
  const address = parseTopic(topic);
  if (!address) return reject('unknown-topic', 'not an avcare/v1/<school>/<room>/<agent>/<kind> topic');
  // The broker's access control already stops this; checked again so that one broker bug or
  // misconfiguration cannot let an agent write as another (belt and braces).
  if (sender && (sender.schoolId !== address.school || sender.agentId !== address.agent)) {
    return reject('sender-mismatch', `published by ${sender.schoolId}:${sender.agentId} on the topic of ${address.school}:${address.agent}`);
  }

  const parsed = parseJson(payload);
  if (!parsed.ok) return parsed;
  const body = parsed.value;

  if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'schemaVersion' in body && body.schemaVersion !== SCHEMA_VERSION) {
    return reject('version', `schemaVersion ${describeValue(body.schemaVersion)} is not ${SCHEMA_VERSION}`);
  }
  const schema = checkSchema(body);
  if (!schema.ok) return schema;
  const { message } = schema;
  const mismatch = topicMismatch(address, message);
  if (mismatch) return reject('topic-mismatch', mismatch);
  return { ok: true, message, address };
}

/**
 * The compiled check of the message's kind first (it strips unknown keys in place, as zod would);
 * zod, the source of truth, for the kinds not compiled and for every message the compiled check
 * refuses, so the error names zod's path and words, and a compiled check stricter than zod by
 * mistake costs time, never a message.
 */
function checkSchema(body: unknown): { ok: true; message: AgentMessage } | { ok: false; reason: RejectReason; detail: string } {
  compiledChecks ??= compileMessageChecks();
  const kind = typeof body === 'object' && body !== null && 'type' in body && typeof body.type === 'string' ? body.type : undefined;
  const compiled = kind === undefined ? undefined : compiledChecks.get(kind);
  if (compiled?.(body)) return { ok: true, message: body };
  const checked = agentMessageSchema.safeParse(body);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const path = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return reject('schema', `${path}: ${issue?.message ?? 'invalid'}`);
  }
  return { ok: true, message: checked.data };
}

function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; reason: RejectReason; detail: string } {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(payload);
    value = JSON.parse(text);
  } catch (error) {
    // TextDecoder throws TypeError on invalid UTF-8, JSON.parse SyntaxError: both mean "not JSON".
    if (error instanceof TypeError || error instanceof SyntaxError) return reject('bad-json', error.message.slice(0, 120));
    throw error;
  }
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) return reject('schema', `JSON nests ${depth} levels deep, more than ${MAX_JSON_DEPTH}`);
  return { ok: true, value };
}

/** Deepest bracket nesting of valid JSON text, counted without recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i += 1; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x7d || char === 0x5d) {
      depth -= 1;
    }
  }
  return deepest;
}

function topicMismatch(address: TopicAddress, message: AgentMessage): string | undefined {
  const pairs = [
    ['school', address.school, message.schoolId],
    ['room', address.room, message.roomId],
    ['agent', address.agent, message.agentId],
    ['kind', address.kind, message.type],
  ] as const;
  const differing = pairs.filter(([, inTopic, inBody]) => inTopic !== inBody).map(([part]) => part);
  return differing.length > 0 ? `topic and body differ in ${differing.join(', ')}` : undefined;
}

function describeValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function reject(reason: RejectReason, detail: string): { ok: false; reason: RejectReason; detail: string } {
  return { ok: false, reason, detail };
}
