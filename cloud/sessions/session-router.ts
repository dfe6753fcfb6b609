/**
 * Agents' session answers arrive on the telemetry subscription (avcare/v1/.../session) but are
 * nothing to store as telemetry: they go to the session service. A message on another agent's
 * topic (possible only on a broker that does not enforce topics) is refused and audited.
 */
import type { Logger } from 'pino';
import { untrustedText } from '../../protocol/index.js';
import { parseSessionTopic, readAgentSessionMessage } from '../../protocol/remote-session.js';
import type { AcceptOutcome, Collector } from '../collector/collector.js';
import type { MessageSender } from '../collector/message-gate.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import type { CloudMetrics } from '../metrics.js';
import type { AgentAnswers } from './agent-answers.js';
import { auditRefusal, type SessionContext } from './session-context.js';

type Inbound = Pick<Collector, 'accept'>;

/** An agent answers a few messages a minute; far more is a misbehaving (or hostile) agent, whose excess is dropped unrecorded so it cannot flood the audit log. */
const PER_AGENT_PER_MINUTE = 120;

export class SessionRouter {
  private readonly limitedLog: RateLimitedLog;
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly answers: AgentAnswers,
    private readonly context: SessionContext,
    private readonly metrics: CloudMetrics,
    log: Logger,
  ) {
    this.limitedLog = new RateLimitedLog(log.child({ module: 'session-router' }));
  }

  /** The collector (or the next router) with session answers taken out of its stream. */
  in(front: Inbound): Inbound {
    return { accept: (topic, payload, sender) => (parseSessionTopic(topic) ? this.accept(topic, payload, sender) : front.accept(topic, payload, sender)) };
  }

  async accept(topic: string, payload: Buffer, sender?: MessageSender): Promise<AcceptOutcome> {
    const from = parseSessionTopic(topic);
    if (!from) return 'rejected';
    this.metrics.messagesIn.inc({ kind: 'session' });
    const refuse = (reason: string, detail: string): AcceptOutcome => {
      this.metrics.rejected.inc({ reason: 'session' });
      this.limitedLog.warn(`session:${reason}`, { reason, topic: untrustedText(topic, 128), detail: detail.slice(0, 200) }, 'dropped a bad session message');
      return 'rejected';
    };
    const who = sender ? `${sender.schoolId}/${sender.agentId}` : `${from.school}/${from.agent}`;
    if (!this.withinRate(who, Date.now())) return refuse('rate', `more than ${PER_AGENT_PER_MINUTE} session messages a minute from ${who}`);
    if (sender && (sender.schoolId !== from.school || sender.agentId !== from.agent)) {
      await auditRefusal(this.context, { actor: `agent:${sender.schoolId}:${sender.agentId}` }, 'session.impersonation', { id: null, schoolId: from.school }, `published on agent ${from.agent}'s session topic`, { topic: untrustedText(topic, 200) }).catch(() => undefined);
      return refuse('sender-mismatch', `authenticated as ${sender.schoolId}/${sender.agentId}`);
    }
    const read = readAgentSessionMessage(payload);
    if ('reason' in read) return refuse(read.reason, read.detail);
    try {
      await this.answers.handle(from, read.message);
    } catch (error) {
      this.limitedLog.warn('session:failed', { err: error, topic: untrustedText(topic, 128) }, 'handling a session message failed');
    }
    // Nothing is stored as telemetry: "duplicate" tells the broker to acknowledge without counting a new event.
    return 'duplicate';
  }

  private withinRate(agent: string, now: number): boolean {
    const times = (this.recent.get(agent) ?? []).filter((at) => at > now - 60_000);
    if (times.length >= PER_AGENT_PER_MINUTE) {
      this.recent.set(agent, times);
      return false;
    }
    times.push(now);
    this.recent.set(agent, times);
    // Agents that went quiet are forgotten, so the map stays as small as the active fleet.
    if (this.recent.size > 10_000) for (const [key, list] of this.recent) if ((list.at(-1) ?? 0) <= now - 60_000) this.recent.delete(key);
    return true;
  }
}
