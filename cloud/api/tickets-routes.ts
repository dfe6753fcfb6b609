import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { personTextSchema, severitySchema, topicIdSchema } from '../../protocol/index.js';
import { inScope, type Permission } from '../accounts/access-policy.js';
import type { Knowledge, TicketEngine, TicketView } from '../tickets/ticket-engine.js';
import type { TicketHistoryEntry } from '../tickets/ticket-store.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { actorOf, requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const statusSchema = z.enum(['open', 'acknowledged', 'in_progress', 'resolved', 'closed']);

const listQuerySchema = z.strictObject({
  school: topicIdSchema.optional().describe('Only tickets of this school id'),
  status: statusSchema.optional().describe('open, acknowledged, in_progress, resolved or closed'),
  severity: severitySchema.optional().describe('general, urgent or critical'),
  team: z.string().min(1).max(128).optional().describe('Only tickets routed to this service team'),
  agent: z.string().min(3).max(200).optional().describe('Only tickets of this agent (SCHOOL_ID:AGENT_ID)'),
  active: z.enum(['true', 'false']).optional().describe('true: only tickets not closed'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
  offset: z.coerce.number().int().min(0).default(0).describe('Skip this many of the newest first (paging)'),
});

const codeParamsSchema = z.strictObject({ code: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'must be a fault code like MICROPHONE_MUTED') });

const idParamsSchema = z.strictObject({ id: z.string().regex(/^TK-[0-9A-Z]{8}$/, 'must be a ticket id like TK-7F3K9QXM') });

const actionBodySchema = z.strictObject({});
const resolveBodySchema = z.strictObject({
  note: personTextSchema(4000).describe('What was done, for the written report'),
  cause: personTextSchema(2000).optional(),
  actions: personTextSchema(4000).optional(),
});
const rateBodySchema = z.strictObject({
  score: z.number().int().min(1).max(5).describe('1 (poor) to 5 (excellent)'),
  comment: personTextSchema(2000).optional(),
});

export interface TicketsRoutesOptions {
  tickets: TicketEngine;
}

/**
 * Tickets as the engine keeps them, with the moves people make on them. Everyone sees the tickets
 * of their scope only (another school's ticket answers 404, as an unknown one); the service team
 * moves tickets, the school closes and rates them; the signed-in person is recorded as who acted.
 */
export function ticketsRoutes(app: FastifyInstance, { tickets }: TicketsRoutesOptions): void {
  /** The ticket if the caller may see it; 404 otherwise. */
  async function visibleTicket(request: FastifyRequest): Promise<{ ticket: TicketView; history: TicketHistoryEntry[]; bundle: unknown; knowledge: Knowledge }> {
    const { id } = parseRequestPart(idParamsSchema, request.params, 'path parameter');
    const scope = scopeOf(request);
    const found = await tickets.get(id, scopeFilter(scope));
    if (!found || !inScope(scope, found.ticket.schoolId)) throw new ApiError('TICKET_NOT_FOUND', `no ticket ${id}`);
    return found;
  }

  app.get('/api/tickets', async (request): Promise<{ tickets: TicketView[]; total: number }> => {
    requirePermission(request, 'tickets.read');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const scope = scopeOf(request);
    if (query.school !== undefined && !inScope(scope, query.school)) return { tickets: [], total: 0 };
    const schoolIds = scopeFilter(scope);
    const filter = {
      ...(query.school === undefined ? {} : { schoolId: query.school }),
      ...(schoolIds === undefined ? {} : { schoolIds }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.severity === undefined ? {} : { severity: query.severity }),
      ...(query.team === undefined ? {} : { teamId: query.team }),
      ...(query.agent === undefined ? {} : { agentKey: query.agent }),
      activeOnly: query.active === 'true',
    };
    const [list, total] = await Promise.all([tickets.list({ ...filter, limit: query.limit, offset: query.offset }), tickets.count(filter)]);
    return { tickets: list, total };
  });

  app.get('/api/tickets/:id', async (request): Promise<{ ticket: TicketView; history: TicketHistoryEntry[]; bundle: unknown; knowledge: Knowledge }> => {
    requirePermission(request, 'tickets.read');
    return visibleTicket(request);
  });

  app.get('/api/knowledge/:code', async (request): Promise<{ knowledge: Knowledge }> => {
    requirePermission(request, 'tickets.read');
    const { code } = parseRequestPart(codeParamsSchema, request.params, 'path parameter');
    // Past resolutions from the reader's schools only; the self-help steps are the same for everyone.
    return { knowledge: await tickets.knowledge(code, 20, scopeFilter(scopeOf(request))) };
  });

  const action = <Schema extends z.ZodType>(path: string, permission: Permission, bodySchema: Schema, run: (id: string, actor: string, body: z.infer<Schema>) => Promise<void>): void => {
    app.post(`/api/tickets/:id/${path}`, async (request) => {
      // Scope first: a ticket of another school is 404 whatever the role, so nobody probes ids.
      const { ticket } = await visibleTicket(request);
      requirePermission(request, permission);
      const body = parseRequestPart(bodySchema, request.body ?? {}, 'body field');
      await run(ticket.id, actorOf(request).actor, body);
      return tickets.get(ticket.id, scopeFilter(scopeOf(request)));
    });
  };
  action('ack', 'tickets.work', actionBodySchema, (id, actor) => tickets.acknowledge(id, actor));
  action('start', 'tickets.work', actionBodySchema, (id, actor) => tickets.startWork(id, actor));
  action('resolve', 'tickets.work', resolveBodySchema, (id, actor, report) => tickets.resolve(id, actor, report));
  action('on-site', 'tickets.work', actionBodySchema, (id, actor) => tickets.requestOnSite(id, actor));
  action('arrived', 'tickets.work', actionBodySchema, (id, actor) => tickets.arriveOnSite(id, actor));
  action('close', 'tickets.close', actionBodySchema, (id, actor) => tickets.closeTicket(id, actor));
  action('rate', 'tickets.rate', rateBodySchema, (id, actor, rating) => tickets.rate(id, actor, rating));
}
