/** The remote session service as `avcare-cloud start` runs it: wired to the database, the key, the broker and the clock. */
import type { Logger } from 'pino';
import type { Security } from '../security.js';
import type { CloudMetrics } from '../metrics.js';
import { agentKey, type Store } from '../store/store.js';
import { untrustedText } from '../../protocol/index.js';
import { SESSION_KIND } from '../../protocol/topics.js';
import type { BrokerSubject } from '../broker/agent-acl.js';
import { AgentAnswers } from './agent-answers.js';
import { auditRefusal } from './session-context.js';
import { RemoteSessions } from './remote-sessions.js';
import { SessionEvents } from './session-events.js';
import { SessionRouter } from './session-router.js';
import { SessionSweeper } from './session-sweeper.js';

export interface RunningSessions {
  sessions: RemoteSessions;
  events: SessionEvents;
  router: SessionRouter;
  /** For the embedded broker: a client refused on a session topic (another agent's answers or inbox) is on the record. */
  onBrokerRefusal(refusal: { what: 'publish' | 'subscribe'; subject: BrokerSubject; topic: string }): void;
  stop(): Promise<void>;
}

export interface StartSessionsOptions {
  store: Store;
  security: Pick<Security, 'audit' | 'signingKey' | 'directory' | 'accounts' | 'registry'>;
  publish(topic: string, payload: Buffer): Promise<void>;
  metrics: CloudMetrics;
  log: Logger;
  sweepMs?: number;
  now?: () => Date;
}

export function startSessions(options: StartSessionsOptions): RunningSessions {
  const { store, security } = options;
  const log = options.log.child({ module: 'sessions' });
  const events = new SessionEvents();
  const sessions = new RemoteSessions({
    db: store.database,
    audit: security.audit,
    signer: { sign: (data) => security.signingKey.sign(data), keyId: security.signingKey.keyId },
    publish: (topic, payload) => options.publish(topic, payload),
    events,
    log,
    now: options.now ?? (() => new Date()),
    policy: (schoolId) => security.directory.remoteSessions(schoolId),
    schoolsOfTeam: (teamId) => security.directory.schoolsOfTeam(teamId),
    account: async (accountId) => {
      const account = await security.accounts.byId(accountId);
      return account && { disabled: account.disabled, teamId: account.teamId };
    },
    agents: {
      // An enrolled agent is known by its identity (revoked or not); on an open broker by its telemetry.
      find: async (schoolId, agentId) => {
        const enrolled = await security.registry.get(agentKey(schoolId, agentId));
        if (enrolled) return { roomId: enrolled.roomId, revoked: enrolled.revokedAt !== null };
        const seen = (await store.listAgents({ schoolId })).find((agent) => agent.agentId === agentId);
        return seen && { roomId: seen.roomId, revoked: false };
      },
    },
  });
  const router = new SessionRouter(new AgentAnswers(sessions), sessions.context, options.metrics, log);
  const sweeper = new SessionSweeper(sessions);
  sweeper.start(options.sweepMs);
  const onBrokerRefusal: RunningSessions['onBrokerRefusal'] = ({ what, subject, topic }) => {
    if (!topic.split('/').includes(SESSION_KIND) && !topic.includes('#')) return;
    const actor = subject.kind === 'agent' ? `agent:${subject.schoolId}:${subject.agentId}` : `reflector:${subject.reflectorId}`;
    const schoolId = subject.kind === 'agent' ? subject.schoolId : null;
    void auditRefusal(sessions.context, { actor }, 'session.impersonation', { id: null, schoolId }, `the broker refused to let it ${what} ${untrustedText(topic, 200) ?? ''}`).catch((error: unknown) => log.warn({ err: error }, 'could not audit a refused session topic'));
  };
  return { sessions, events, router, onBrokerRefusal, stop: () => sweeper.stop() };
}
