import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { severitySchema, topicIdSchema } from '../../protocol/index.js';
import type { Knowledge, TicketEngine, TicketView } from '../tickets/ticket-engine.js';
import type { TicketHistoryEntry } from '../tickets/ticket-store.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';

const statusSchema = z.enum(['open', 'acknowledged', 'in_progress', 'resolved', 'closed']);

const listQuerySchema = z.strictObject({
  school: topicIdSchema.optional().describe('Only tickets of this school id'),
  status: statusSchema.optional().describe('open, acknowledged, in_progress, resolved or closed'),
  severity: severitySchema.optional().describe('general, urgent or critical'),
  team: z.string().min(1).max(128).optional().describe('Only tickets routed to this service team'),
  agent: z.string().min(3).max(200).optional().describe('Only tickets of this agent (SCHOOL_ID:AGENT_ID)'),
  active: z.enum(['true', 'false']).optional().describe('true: only tickets not closed'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

const codeParamsSchema = z.strictObject({ code: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'must be a fault code like MICROPHONE_MUTED') });

const idParamsSchema = z.strictObject({ id: z.string().regex(/^TK-[0-9A-Z]{8}$/, 'must be a ticket id like TK-7F3K9QXM') });

/** Who acts. The API has no sign-in yet: the name is recorded as given, and shown as such in the history. */
const actorSchema = z.string().trim().min(1).max(128).describe('Who does this (recorded in the ticket history)');

const actionBodySchema = z.strictObject({ by: actorSchema });
const resolveBodySchema = z.strictObject({
  by: actorSchema,
  note: z.string().trim().min(1).max(4000).describe('What was done, for the written report'),
  cause: z.string().trim().max(2000).optional(),
  actions: z.string().trim().max(4000).optional(),
});
const rateBodySchema = z.strictObject({
  by: actorSchema,
  score: z.number().int().min(1).max(5).describe('1 (poor) to 5 (excellent)'),
  comment: z.string().trim().max(2000).optional(),
});

export interface TicketsRoutesOptions {
  tickets: TicketEngine;
}

/** Tickets as the engine keeps them, with the moves people make on them. */
export function ticketsRoutes(app: FastifyInstance, { tickets }: TicketsRoutesOptions): void {
  app.get('/api/tickets', async (request): Promise<{ tickets: TicketView[] }> => {
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const list = await tickets.list({
      ...(query.school === undefined ? {} : { schoolId: query.school }),
      ...(query.status === undefined ? {} : { status: query.status }),
      ...(query.severity === undefined ? {} : { severity: query.severity }),
      ...(query.team === undefined ? {} : { teamId: query.team }),
      ...(query.agent === undefined ? {} : { agentKey: query.agent }),
      activeOnly: query.active === 'true',
      limit: query.limit,
    });
    return { tickets: list };
  });

  app.get('/api/tickets/:id', async (request): Promise<{ ticket: TicketView; history: TicketHistoryEntry[]; bundle: unknown; knowledge: Knowledge }> => {
    const { id } = parseRequestPart(idParamsSchema, request.params, 'path parameter');
    const found = await tickets.get(id);
    if (!found) throw new ApiError('TICKET_NOT_FOUND', `no ticket ${id}`);
    return found;
  });

  app.get('/api/knowledge/:code', async (request): Promise<{ knowledge: Knowledge }> => {
    const { code } = parseRequestPart(codeParamsSchema, request.params, 'path parameter');
    return { knowledge: await tickets.knowledge(code, 20) };
  });

  const action = (path: string, run: (id: string, body: unknown) => Promise<void>): void => {
    app.post(`/api/tickets/:id/${path}`, async (request) => {
      const { id } = parseRequestPart(idParamsSchema, request.params, 'path parameter');
      await run(id, request.body ?? {});
      const found = await tickets.get(id);
      return found;
    });
  };
  action('ack', (id, body) => tickets.acknowledge(id, parseRequestPart(actionBodySchema, body, 'body field').by));
  action('start', (id, body) => tickets.startWork(id, parseRequestPart(actionBodySchema, body, 'body field').by));
  action('resolve', (id, body) => {
    const { by, ...report } = parseRequestPart(resolveBodySchema, body, 'body field');
    return tickets.resolve(id, by, report);
  });
  action('on-site', (id, body) => tickets.requestOnSite(id, parseRequestPart(actionBodySchema, body, 'body field').by));
  action('arrived', (id, body) => tickets.arriveOnSite(id, parseRequestPart(actionBodySchema, body, 'body field').by));
  action('close', (id, body) => tickets.closeTicket(id, parseRequestPart(actionBodySchema, body, 'body field').by));
  action('rate', (id, body) => {
    const { by, ...rating } = parseRequestPart(rateBodySchema, body, 'body field');
    return tickets.rate(id, by, rating);
  });
}
