import { untrustedText } from '../../protocol/index.js';
import { SESSION_KIND } from '../../protocol/topics.js';
import type { AuditFloodGuard } from '../audit/audit-flood-guard.js';
import type { BrokerSubject } from './agent-acl.js';

export interface BrokerRefusal {
  what: 'publish' | 'subscribe';
  subject: BrokerSubject;
  topic: string;
}

/**
 * Puts the embedded broker's refusals of authenticated clients on the record, through the flood
 * guard: one client's credentials can send thousands of refused packets a second, and what reaches
 * the audit log of those is the first few a minute and one entry counting the rest. A refusal on
 * a session topic (another agent's answers or inbox, a wildcard over them) is an impersonation
 * attempt; any other is `broker.refused`.
 */
export function auditBrokerRefusals(guard: Pick<AuditFloodGuard, 'append'>, onFailure: (error: unknown) => void): (refusal: BrokerRefusal) => void {
  return ({ what, subject, topic }) => {
    const actor = subject.kind === 'agent' ? `agent:${subject.schoolId}:${subject.agentId}` : `reflector:${subject.reflectorId}`;
    const sessionTopic = topic.split('/').includes(SESSION_KIND) || topic.includes('#');
    guard
      .append(`broker:${actor}`, {
        actor,
        action: sessionTopic ? 'session.impersonation' : 'broker.refused',
        outcome: 'denied',
        schoolId: subject.kind === 'agent' ? subject.schoolId : null,
        detail: { reason: `the broker refused to let it ${what} ${untrustedText(topic, 200) ?? ''}`, what, topic: untrustedText(topic, 200) ?? '' },
      })
      .catch(onFailure);
  };
}
