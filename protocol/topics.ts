import type { MessageKind } from './messages.js';
import { topicIdSchema } from './ids.js';
import { AvcareError } from './errors.js';

export const TOPIC_ROOT = 'avcare/v1';
export const MESSAGE_KINDS = ['inventory', 'health', 'fault', 'measurement', 'status', 'report'] as const satisfies readonly MessageKind[];

export interface TopicAddress {
  school: string;
  room: string;
  agent: string;
  kind: MessageKind;
}

/** avcare/v1/<school>/<room>/<agent>/<kind>: the only way topic strings are built. */
export function topicFor(address: TopicAddress): string {
  for (const part of ['school', 'room', 'agent'] as const) {
    const checked = topicIdSchema.safeParse(address[part]);
    if (!checked.success) {
      throw new AvcareError('INVALID_TOPIC_ID', `${part} id "${address[part]}" ${checked.error.issues[0]?.message ?? 'is invalid'}`, { part });
    }
  }
  return `${TOPIC_ROOT}/${address.school}/${address.room}/${address.agent}/${address.kind}`;
}

/** Subscription filter for one kind across a school (or every school when school is omitted). */
export function topicFilter(kind: MessageKind | '+', school = '+'): string {
  return `${TOPIC_ROOT}/${school}/+/+/${kind}`;
}

/** Parses a topic back into its address; null for anything that is not an avcare topic. */
export function parseTopic(topic: string): TopicAddress | null {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return null;
  const [, , school, room, agent, kind] = parts as [string, string, string, string, string, string];
  if (!(MESSAGE_KINDS as readonly string[]).includes(kind)) return null;
  if (![school, room, agent].every((id) => topicIdSchema.safeParse(id).success)) return null;
  return { school, room, agent, kind: kind as MessageKind };
}

/** The sender of an agent topic of a kind outside MESSAGE_KINDS (signal, session); null for any other topic. */
export function parseAgentTopicOfKind(topic: string, kind: string): { school: string; room: string; agent: string } | null {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[5] !== kind) return null;
  const [, , school, room, agent] = parts as [string, string, string, string, string, string];
  if (![school, room, agent].every((id) => topicIdSchema.safeParse(id).success)) return null;
  return { school, room, agent };
}

/**
 * Messages addressed to one agent (signalling, commands of later issues) live under their own
 * root, so no agent topic `avcare/v1/...` can ever be mistaken for one:
 * avcare/to/v1/<school>/<agent>/<name...>.
 */
export const INBOX_ROOT = 'avcare/to/v1';

/** The last level of remote-session topics (protocol/remote-session.ts), here so the daemon can route without loading those schemas. */
export const SESSION_KIND = 'session';

export function agentInboxTopic(school: string, agent: string, name: string): string {
  for (const [part, id] of [['school', school], ['agent', agent]] as const) {
    if (!topicIdSchema.safeParse(id).success) throw new AvcareError('INVALID_TOPIC_ID', `${part} id "${id}" is not a topic id`, { part });
  }
  if (name.length === 0 || /[+#]/.test(name)) throw new AvcareError('INVALID_TOPIC_ID', `inbox name "${name}" must be non-empty and hold no wildcard`, { part: 'name' });
  return `${INBOX_ROOT}/${school}/${agent}/${name}`;
}

/** Everything addressed to one agent: the only filter it may subscribe to. */
export function agentInboxFilter(school: string, agent: string): string {
  return `${INBOX_ROOT}/${school}/${agent}/#`;
}

/** Everything one agent may publish: its own topics in any room of its school, one kind each. */
export function agentPublishFilter(school: string, agent: string): string {
  return `${TOPIC_ROOT}/${school}/+/${agent}/+`;
}

/** Everything addressed to any agent: what the cloud publishes to. */
export function inboxFilter(): string {
  return `${INBOX_ROOT}/#`;
}
