import type { FastifyInstance } from 'fastify';
import type { CloudMetrics } from '../metrics.js';
import { agentKey, type Store } from '../store/store.js';
import { errorBody } from './api-error.js';
import { requirePermission } from './request-auth.js';

export interface HealthRoutesOptions {
  store: Store;
  metrics: CloudMetrics;
  /** Every route the app serves, for the index at `/api` (collected as they are registered). */
  routes: () => ReadonlyArray<{ method: string; url: string }>;
  /** A database that takes longer than this to answer counts as down: a probe must not hang. */
  healthTimeoutMs?: number;
  /**
   * Whether the cloud has finished starting (the first operator made, the audit anchored, the
   * timers running): until then /healthz answers 503 "starting", so whoever waits for it can sign
   * in at once. Without it (tests of the API alone) the app is ready when it answers.
   */
  ready?: () => boolean;
}

/**
 * No agent can have this key ("-" is not a valid topic id), so looking it up is one primary-key
 * read that proves the database answers, however large the tables are.
 */
const PROBE_KEY = agentKey('-', '-');

/** What a load balancer, Prometheus and a person at the root URL need. */
export function healthRoutes(app: FastifyInstance, { store, metrics, routes, healthTimeoutMs = 2_000, ready = () => true }: HealthRoutesOptions): void {
  // Signed in like everything but /healthz: even the list of routes is not for strangers.
  app.get('/api', () => ({
    name: 'avcare cloud',
    note: 'this is the API; the web console is at /',
    signIn: 'POST /api/auth/login { name, password } -> { token }; then send "Authorization: Bearer TOKEN"',
    // What the app really serves, so the index never promises a route that is not there or leaves one out.
    // The console's page and assets are not API routes.
    routes: routes()
      .filter((route) => route.method !== 'HEAD' && !route.url.includes('*') && (route.url.startsWith('/api') || route.url === '/healthz' || route.url === '/metrics'))
      .map((route) => `${route.method} ${route.url}`)
      .sort(),
  }));

  app.get('/healthz', { config: { access: 'public' } }, async (request, reply) => {
    if (!ready()) return reply.status(503).send({ status: 'starting', db: 'unknown', ...errorBody('STORE_UNAVAILABLE', 'the cloud is still starting') });
    try {
      await withTimeout(store.getAgent(PROBE_KEY), healthTimeoutMs);
      return { status: 'ok', db: 'ok' };
    } catch (error) {
      request.log.warn({ err: error }, 'health check: the database cannot be queried');
      return reply.status(503).send({ status: 'unavailable', db: 'error', ...errorBody('STORE_UNAVAILABLE', 'the database cannot be queried') });
    }
  });

  app.get('/metrics', async (request, reply) => {
    // No principal: the request carried the read-only metrics token. A person needs metrics.read (operators).
    if (request.principal) requirePermission(request, 'metrics.read');
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
