import { INBOX_ROOT, TOPIC_ROOT } from '../../protocol/index.js';
import { isAgentSignalInbox, signalFilter } from '../../protocol/measure-signal.js';

/** The agent a broker connection authenticated as. */
export interface AclSubject {
  schoolId: string;
  agentId: string;
}

/** A connection's identity at the embedded broker: an enrolled agent, or a reflector in its own process. */
export type BrokerSubject = ({ kind: 'agent' } & AclSubject) | { kind: 'reflector'; reflectorId: string };

export function subjectMayPublish(subject: BrokerSubject, topic: string): boolean {
  return subject.kind === 'agent' ? agentMayPublish(subject, topic) : reflectorMayPublish(topic);
}

export function subjectMaySubscribe(subject: BrokerSubject, filter: string): boolean {
  return subject.kind === 'agent' ? agentMaySubscribe(subject, filter) : reflectorMaySubscribe(filter);
}

/** A reflector answers only into agents' signalling inboxes: no telemetry, no other inbox topic. */
export function reflectorMayPublish(topic: string): boolean {
  return isAgentSignalInbox(topic);
}

/** A reflector reads every agent's signalling and nothing else: exactly the signalling filter. */
export function reflectorMaySubscribe(filter: string): boolean {
  return filter === signalFilter();
}

/**
 * An agent publishes only under its own prefix: avcare/v1/<its school>/<any room>/<itself>/<one
 * level>, the same filter Mosquitto's role gets (agentPublishFilter). The room is free within the
 * school (a PC may move rooms); school and agent are not. What the last level says (a known kind
 * or not) is the collector's to judge: it counts an unknown one like any malformed message.
 */
export function agentMayPublish(subject: AclSubject, topic: string): boolean {
  const parts = topic.split('/');
  return (
    parts.length === 6 &&
    `${parts[0]}/${parts[1]}` === TOPIC_ROOT &&
    parts[2] === subject.schoolId &&
    (parts[3] ?? '').length > 0 &&
    parts[4] === subject.agentId &&
    (parts[5] ?? '').length > 0
  );
}

/**
 * An agent subscribes only to what is addressed to it: filters within
 * avcare/to/v1/<its school>/<itself>/. The prefix has no wildcard, so any filter that starts with
 * it (wildcards after it included) matches nothing else.
 */
export function agentMaySubscribe(subject: AclSubject, filter: string): boolean {
  const prefix = `${INBOX_ROOT}/${subject.schoolId}/${subject.agentId}/`;
  return filter.startsWith(prefix) && filter.length > prefix.length;
}
