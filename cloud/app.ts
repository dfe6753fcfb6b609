import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { REDACT_PATHS } from '../protocol/log.js';
import { agentsRoutes, type AgentsRoutesOptions } from './api/agents-routes.js';
import { installErrorHandlers } from './api/api-error.js';
import { auditRoutes } from './api/audit-routes.js';
import { authRoutes } from './api/auth-routes.js';
import { DEFAULT_CONSOLE_IDLE_MINUTES } from './api/browser-session.js';
import { builtConsoleDir, CONSOLE_CSP, consoleRoutes } from './api/console-routes.js';
import { enrollRoutes } from './api/enroll-routes.js';
import { reflectorsRoutes } from './api/reflectors-routes.js';
import { roomsRoutes } from './api/rooms-routes.js';
import { qualityRoutes } from './api/quality-routes.js';
import { liveRoutes } from './api/live-routes.js';
import { ChangeFeed } from './live/change-feed.js';
import { sessionsRoutes, type SessionsRoutesOptions } from './api/sessions-routes.js';
import { healthRoutes } from './api/health-routes.js';
import { installRequestAuth } from './api/request-auth.js';
import { ticketsRoutes } from './api/tickets-routes.js';
import { usersRoutes } from './api/users-routes.js';
import type { Security } from './security.js';
import type { TicketEngine } from './tickets/ticket-engine.js';
import type { CloudMetrics } from './metrics.js';
import type { Store } from './store/store.js';

export interface AppOptions {
  store: Store;
  metrics: CloudMetrics;
  log: Logger;
  /** Without it (tests of the fleet API alone) the ticket routes are not mounted. */
  tickets?: TicketEngine;
  /** Remote sessions; without it (tests of other routes) their routes are not mounted. */
  sessions?: Omit<SessionsRoutesOptions, 'tokenStillValid'>;
  /** Sign-in, accounts, enrollment and audit: every route but the public ones needs a bearer token. */
  security: Security;
  /** The audit anchors file, checked by GET /api/audit/verify beside the database's anchors. */
  auditAnchorFile?: string;
  /** The audit retention the cloud runs with (`--audit-retention-days`), for GET /api/audit/verify. */
  auditRetentionDays?: number;
  /** /healthz answers ok only once this says the cloud can do its work (see healthRoutes). */
  ready?: () => boolean;
  /** Serves HTTPS with this certificate and key. */
  https?: { cert: Buffer; key: Buffer };
  /**
   * `--trust-proxy`: reverse proxies whose X-Forwarded-For names the client. Only a connection from
   * one of them is believed; anyone else's header is ignored, so nobody picks their own address.
   */
  trustProxy?: readonly string[];
  /** Asks an agent to run its tests now (the console's "run a network test now"); without it the route is not mounted. */
  askToTest?: AgentsRoutesOptions['askToTest'];
  /** What the console hears live (GET /api/events); one per process, made here when not given. */
  changeFeed?: ChangeFeed;
  /** The built console to serve at `/` (default: dist/console of this package); false: none. */
  consoleDir?: string | false;
  /** The console's idle timeout: a browser session ends after this many minutes without a request. */
  consoleIdleMinutes?: number;
}

/** Request headers that carry credentials; a pino child's redact replaces its parent's, so these add to REDACT_PATHS. */
const HTTP_REDACT_PATHS = [...REDACT_PATHS, 'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]'];

/**
 * Builds the HTTP API without listening (only main listens), so tests drive it with `inject()`.
 * Every request logs through a child of the injected pino logger with its request id.
 */
export function buildApp({ store, metrics, log, tickets, sessions, security, auditAnchorFile, auditRetentionDays, https, trustProxy, ready, consoleIdleMinutes, consoleDir, changeFeed, askToTest }: AppOptions): FastifyInstance {
  // Typed as fastify's logger interface so the instance is the plain FastifyInstance the routes take.
  const httpLog: FastifyBaseLogger = log.child({ module: 'http' }, { redact: { paths: HTTP_REDACT_PATHS, censor: '[redacted]' } });
  const app = Fastify({
    loggerInstance: httpLog,
    // Bodies are small JSON (ticket actions); anything bigger is a mistake or an attack.
    bodyLimit: 64 * 1024,
    ...(https ? { https: { cert: https.cert, key: https.key, minVersion: 'TLSv1.2' as const } } : {}),
    ...(trustProxy && trustProxy.length > 0 ? { trustProxy: [...trustProxy] } : {}),
  }) as unknown as FastifyInstance;
  installErrorHandlers(app);
  // Before the auth hook: the console's session arrives as a cookie (fastify runs this plugin's parser first).
  void app.register(fastifyCookie);
  app.addHook('onSend', async (_request, reply) => {
    // Device strings come from untrusted hardware: a browser must never sniff a JSON answer into HTML,
    // and no answer of ours (page or JSON) runs inline script or sits in another site's frame.
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  });
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  installRequestAuth(app, {
    tokens: security.tokens,
    allowPlaintextCredentials: security.allowPlaintextCredentials,
    schoolsOfTeam: (teamId) => security.directory.schoolsOfTeam(teamId),
    ...(security.metricsToken === undefined ? {} : { metricsToken: security.metricsToken }),
  });
  agentsRoutes(app, {
    store,
    ...(askToTest === undefined ? {} : { askToTest }),
    audit: (entry) => security.audit.append({ actor: entry.actor, action: 'agent.test-asked', target: entry.target, outcome: 'success', source: entry.source, schoolId: entry.schoolId, detail: entry.detail }).then(() => undefined),
  });
  roomsRoutes(app, { store, directory: security.directory });
  liveRoutes(app, { feed: changeFeed ?? new ChangeFeed({ db: store.database, log }), tokenStillValid: async (token) => (await security.tokens.authenticate(token)) !== undefined });
  healthRoutes(app, { store, metrics, routes: () => routes, ...(ready ? { ready } : {}) });
  authRoutes(app, security, { consoleIdleMinutes: consoleIdleMinutes ?? DEFAULT_CONSOLE_IDLE_MINUTES });
  usersRoutes(app, security);
  enrollRoutes(app, security);
  reflectorsRoutes(app, security);
  auditRoutes(app, security, { ...(auditAnchorFile === undefined ? {} : { anchorFile: auditAnchorFile }), ...(auditRetentionDays === undefined ? {} : { minRetentionDays: auditRetentionDays }) });
  consoleRoutes(app, { dir: consoleDir === undefined ? builtConsoleDir() : consoleDir === false ? undefined : consoleDir });
  if (tickets) {
    ticketsRoutes(app, { tickets });
    qualityRoutes(app, { db: store.database });
  }
  if (sessions) sessionsRoutes(app, { ...sessions, tokenStillValid: async (token) => (await security.tokens.authenticate(token)) !== undefined });
  return app;
}
