import { INBOX_ROOT, TOPIC_ROOT } from '../../protocol/index.js';

/** The agent a broker connection authenticated as. */
export interface AclSubject {
  schoolId: string;
  agentId: string;
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
