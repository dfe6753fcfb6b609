/** The remote session service as `avcare-cloud start` runs it: wired to the database, the key, the broker and the clock. */
import type { Logger } from 'pino';
import type { Security } from '../security.js';
import type { CloudMetrics } from '../metrics.js';
import { agentKey, type Store } from '../store/store.js';
import { AgentAnswers } from './agent-answers.js';
import { RemoteSessions } from './remote-sessions.js';
import { SessionEvents } from './session-events.js';
import { SessionRouter } from './session-router.js';
import { SessionSweeper } from './session-sweeper.js';

export interface RunningSessions {
  sessions: RemoteSessions;
  events: SessionEvents;
  router: SessionRouter;
  stop(): Promise<void>;
}

export interface StartSessionsOptions {
  store: Store;
  security: Pick<Security, 'audit' | 'auditGuard' | 'signingKey' | 'directory' | 'accounts' | 'registry'>;
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
    refusals: security.auditGuard,
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
  return { sessions, events, router, stop: () => sweeper.stop() };
}
