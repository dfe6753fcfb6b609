import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { REDACT_PATHS } from '../agent/log.js';
import { agentsRoutes } from './api/agents-routes.js';
import { installErrorHandlers } from './api/api-error.js';
import { healthRoutes } from './api/health-routes.js';
import type { CloudMetrics } from './metrics.js';
import type { Store } from './store/store.js';

export interface AppOptions {
  store: Store;
  metrics: CloudMetrics;
  log: Logger;
}

/** Request headers that carry credentials; a pino child's redact replaces its parent's, so these add to REDACT_PATHS. */
const HTTP_REDACT_PATHS = [...REDACT_PATHS, 'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]', 'res.headers["set-cookie"]'];

/**
 * Builds the HTTP API without listening (only main listens), so tests drive it with `inject()`.
 * Every request logs through a child of the injected pino logger with its request id.
 */
export function buildApp({ store, metrics, log }: AppOptions): FastifyInstance {
  // Typed as fastify's logger interface so the instance is the plain FastifyInstance the routes take.
  const httpLog: FastifyBaseLogger = log.child({ module: 'http' }, { redact: { paths: HTTP_REDACT_PATHS, censor: '[redacted]' } });
  const app = Fastify({
    loggerInstance: httpLog,
    // Only the API's own JSON is answered; nothing here takes a body.
    bodyLimit: 64 * 1024,
  });
  installErrorHandlers(app);
  app.addHook('onSend', async (_request, reply) => {
    // Device strings come from untrusted hardware: a browser must never sniff a JSON answer into HTML.
    reply.header('x-content-type-options', 'nosniff');
  });
  agentsRoutes(app, { store });
  healthRoutes(app, { store, metrics });
  return app;
}
