import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { personLineSchema, topicIdSchema } from '../../protocol/index.js';
import { sessionActionSchema } from '../../protocol/remote-session.js';
import type { RemoteSessions } from '../sessions/remote-sessions.js';
import type { SessionEvent, SessionEvents } from '../sessions/session-events.js';
import { SESSION_STATES, type RemoteCommand } from '../sessions/session-store.js';
import { parseRequestPart } from './parse-request.js';
import { bearerToken, principalOf, requirePermission } from './request-auth.js';

/** How often an open stream says it is alive and checks its token (a revoked one ends it within this). */
const STREAM_CHECK_MS = 15_000;
/** How often one session's stream reads its rows, for steps another cloud process handled. */
const STREAM_POLL_MS = 2_000;
const STREAM_OVERLAP_MS = 10_000;

const sessionParamsSchema = z.strictObject({ id: z.uuid() });
const listQuerySchema = z.strictObject({
  state: z.enum(SESSION_STATES).optional(),
  open: z.enum(['true', 'false']).optional().describe('true: pending and active only'),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const requestBodySchema = z.strictObject({
  schoolId: topicIdSchema,
  agentId: topicIdSchema,
  reason: personLineSchema(500),
  scopes: z.array(sessionActionSchema).min(1),
  durationMinutes: z.number().int().min(1).max(24 * 60).optional(),
});
const approveBodySchema = z.strictObject({ grant: z.array(sessionActionSchema).min(1).optional().describe('the actions granted; privacy ones only when named (default: every asked action but those)') });
const revokeBodySchema = z.strictObject({ reason: personLineSchema(500).optional() });
const commandBodySchema = z.strictObject({
  action: sessionActionSchema,
  args: z.record(z.string(), z.unknown()).default({}),
  waitSeconds: z.number().int().min(0).max(300).default(0).describe('wait this long for the agent\'s answer before answering'),
});
const eventsQuerySchema = z.strictObject({ session: z.uuid().optional() });

export interface SessionsRoutesOptions {
  sessions: RemoteSessions;
  events: SessionEvents;
  /** Whether the token a stream was opened with still signs someone in: a revoked token or a disabled account ends the stream. */
  tokenStillValid?: (token: string) => Promise<boolean>;
  /** How often an open stream checks its token (15 s). */
  streamCheckMs?: number;
}

/**
 * Remote sessions over HTTP: engineers request, run and close; school admins approve, deny and
 * revoke; everyone in scope reads them and watches them live (GET /api/sessions/events, a
 * server-sent event stream). Who may do which act is checked by the session service, which knows
 * the session's school and engineer and audits every refusal.
 */
export function sessionsRoutes(app: FastifyInstance, { sessions, events, tokenStillValid, streamCheckMs = STREAM_CHECK_MS }: SessionsRoutesOptions): void {
  app.get('/api/sessions', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const schools = sessions.schoolsVisibleTo(person);
    const states = query.state !== undefined ? [query.state] : query.open === 'true' ? (['pending', 'active'] as const) : undefined;
    return {
      sessions: await sessions.list(schools === undefined ? {} : { schoolIds: [...schools] }, { ...(states ? { states } : {}), ...(query.limit ? { limit: query.limit } : {}) }),
    };
  });

  app.post('/api/sessions', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const body = parseRequestPart(requestBodySchema, request.body ?? {}, 'body field');
    return { session: await sessions.request(person, body, request.ip) };
  });

  app.get('/api/sessions/events', async (request, reply) => {
    const person = requirePermission(request, 'sessions.read');
    const query = parseRequestPart(eventsQuerySchema, request.query, 'query parameter');
    const schools = sessions.schoolsVisibleTo(person);
    // What has happened so far comes first, so a watcher who joins late sees the whole session.
    const initial = query.session === undefined ? [] : await snapshot(sessions, person, query.session);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', connection: 'keep-alive' });
    // Each step once: it may come from this process's events and from the database both.
    const seen = new Set<string>();
    const send = (event: SessionEvent): void => {
      const key = event.type === 'session' ? `session:${event.session.id}:${event.session.state}:${event.session.answeredAt ?? ''}` : `command:${event.command.id}:${event.command.status}`;
      if (seen.has(key)) return;
      // A stream may stay open for weeks: forgetting old steps at worst repeats a few seconds of them once.
      if (seen.size >= 20_000) seen.clear();
      seen.add(key);
      reply.raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event.type === 'session' ? { session: event.session } : { command: event.command })}\n\n`);
    };
    for (const event of initial) send(event);
    // Another cloud process on the same database may handle the agent's answers: the stream also reads the rows.
    const sessionId = query.session;
    // The rows carry the session service's clock; the stream counts in it too.
    const now = (): number => sessions.context.now().getTime();
    let since = now() - STREAM_POLL_MS;
    const readRows = async (): Promise<SessionEvent[]> => {
      if (sessionId !== undefined) return snapshot(sessions, person, sessionId);
      // A few seconds of overlap: another process's clock, and a row committed while this read ran.
      const from = since - STREAM_OVERLAP_MS;
      since = now();
      return sessions.stepsSince(from, schools);
    };
    const poll = setInterval(() => void readRows().then((steps) => steps.forEach(send), () => undefined), STREAM_POLL_MS);
    const stop = events.watch({ ...(query.session === undefined ? {} : { sessionId: query.session }), ...(schools === undefined ? {} : { schoolIds: schools }) }, send);
    // A comment line now and then keeps proxies from closing a quiet stream; the token is checked again each time.
    const token = bearerToken(request.headers.authorization) ?? request.cookieSession;
    const keepAlive = setInterval(() => {
      void (token === undefined || tokenStillValid === undefined ? Promise.resolve(true) : tokenStillValid(token).catch(() => true)).then((valid) => {
        if (valid) reply.raw.write(': keep-alive\n\n');
        else reply.raw.end();
      });
    }, streamCheckMs);
    request.raw.on('close', () => {
      clearInterval(keepAlive);
      clearInterval(poll);
      stop();
    });
  });

  app.get('/api/sessions/:id', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    return sessions.show(person, id);
  });

  app.post('/api/sessions/:id/approve', async (request) => {
    // Who may answer is checked (and a refusal audited) by the service: it knows the session's school.
    const person = requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    const body = parseRequestPart(approveBodySchema, request.body ?? {}, 'body field');
    return { session: await sessions.answer(person, id, 'approve', { ...(body.grant ? { grant: body.grant } : {}), source: request.ip }) };
  });

  app.post('/api/sessions/:id/deny', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    return { session: await sessions.answer(person, id, 'deny', { source: request.ip }) };
  });

  app.post('/api/sessions/:id/revoke', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    const body = parseRequestPart(revokeBodySchema, request.body ?? {}, 'body field');
    return { session: await sessions.revoke(person, id, body.reason ?? null, request.ip) };
  });

  app.post('/api/sessions/:id/close', async (request) => {
    const person = requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    return { session: await sessions.close(person, id, request.ip) };
  });

  app.post('/api/sessions/:id/commands', async (request) => {
    requirePermission(request, 'sessions.read');
    const { id } = parseRequestPart(sessionParamsSchema, request.params, 'path parameter');
    const body = parseRequestPart(commandBodySchema, request.body ?? {}, 'body field');
    return { command: await runAndWait(request, sessions, events, id, body) };
  });
}

/** The session and its commands as events, for a watcher who just joined. */
async function snapshot(sessions: RemoteSessions, person: ReturnType<typeof principalOf>, sessionId: string): Promise<SessionEvent[]> {
  const { session, commands } = await sessions.show(person, sessionId);
  return [{ type: 'session', session }, ...commands.map((command): SessionEvent => ({ type: 'command', schoolId: session.schoolId, command }))];
}

/**
 * Sends the command and, when asked, waits for the agent's answer: from this process's stream
 * (watched from before the send, so a fast answer is not missed) or, each second, from the database.
 */
async function runAndWait(request: FastifyRequest, sessions: RemoteSessions, events: SessionEvents, sessionId: string, body: z.infer<typeof commandBodySchema>): Promise<RemoteCommand> {
  const answers = new Map<string, RemoteCommand>();
  let wake: (() => void) | undefined;
  const stop = events.watch({ sessionId }, (event) => {
    if (event.type === 'command' && event.command.status !== 'sent') {
      answers.set(event.command.id, event.command);
      wake?.();
    }
  });
  try {
    const sent = await sessions.run(principalOf(request), sessionId, body.action, body.args, request.ip);
    if (body.waitSeconds === 0) return sent;
    const deadline = Date.now() + body.waitSeconds * 1000;
    while (Date.now() < deadline) {
      const answered = answers.get(sent.id);
      if (answered) return answered;
      // Another cloud process on the same database may have taken the answer: its row says so.
      const stored = await sessions.command(sent.id);
      if (stored && stored.status !== 'sent') return stored;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(1_000, deadline - Date.now())).unref();
      });
    }
    return answers.get(sent.id) ?? (await sessions.command(sent.id)) ?? sent;
  } finally {
    stop();
  }
}
