import type { FastifyInstance } from 'fastify';
import type { ChangeFeed } from '../live/change-feed.js';
import { bearerToken, principalOf, scopeOf } from './request-auth.js';

/** How often an open stream says it is alive and checks its session (a revoked one ends it within this). */
const STREAM_CHECK_MS = 15_000;

export interface LiveRoutesOptions {
  feed: ChangeFeed;
  /** Whether the token the stream was opened with still signs someone in. */
  tokenStillValid: (token: string) => Promise<boolean>;
  streamCheckMs?: number;
}

/**
 * GET /api/events: the console's one live stream per tab (server-sent events). Each event says
 * what changed in which school (a PC's state, a fault, a ticket, a session); only the schools of
 * the reader's scope, and the page then reads the thing through the API, where its scope is
 * checked again.
 */
export function liveRoutes(app: FastifyInstance, { feed, tokenStillValid, streamCheckMs = STREAM_CHECK_MS }: LiveRoutesOptions): void {
  app.get('/api/events', (request, reply) => {
    principalOf(request);
    const scope = scopeOf(request);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'keep-alive' });
    // A browser that reconnects after a drop waits this long; the page reloads what it shows when it does.
    reply.raw.write('retry: 2000\n\n');
    const stop = feed.watch(scope.all ? undefined : scope.schools, (change) => {
      reply.raw.write(`event: ${change.type}\ndata: ${JSON.stringify(change)}\n\n`);
    });
    const token = bearerToken(request.headers.authorization) ?? request.cookieSession;
    const keepAlive = setInterval(() => {
      void (token === undefined ? Promise.resolve(true) : tokenStillValid(token).catch(() => true)).then((valid) => {
        if (valid) reply.raw.write(': keep-alive\n\n');
        else reply.raw.end();
      });
    }, streamCheckMs);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      stop();
    });
  });
}
