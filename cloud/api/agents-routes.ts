import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { topicIdSchema } from '../../protocol/index.js';
import type { MeasurementPoint } from '../../protocol/views/fleet-view.js';
import { measureTestSchema, type MeasureTest } from '../../protocol/measure-signal.js';
import { inScope } from '../accounts/access-policy.js';
import { agentKey, type AgentDetail, type AgentSummary, type Store } from '../store/store.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { actorOf, requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const MAX_HEALTH_HOURS = 24 * 90;

const listQuerySchema = z.strictObject({
  school: topicIdSchema.optional().describe('Only agents of this school id'),
  state: z.enum(['online', 'offline', 'unknown']).optional().describe('Only agents in this state'),
  q: z.string().trim().max(100).optional().describe('Only agents whose school, PC or room id contains this text'),
  faults: z.enum(['true', 'false']).optional().describe('true: only agents with an open fault'),
  limit: z.coerce.number().int().min(1).max(5000).default(1000).describe('At most this many agents (1..5000), in id order'),
  offset: z.coerce.number().int().min(0).default(0).describe('Skip this many first (paging)'),
});

const detailQuerySchema = z.strictObject({
  healthHours: z.coerce.number().int().min(1).max(MAX_HEALTH_HOURS).default(24).describe('How many hours of health history to return (1..2160)'),
});

/** `${schoolId}:${agentId}`, each a topic id; the ":" may arrive URL-encoded (fastify decodes params). */
const agentIdParamsSchema = z.strictObject({
  id: z
    .string()
    .max(200)
    .transform((id, context) => {
      const separator = id.indexOf(':');
      const school = topicIdSchema.safeParse(id.slice(0, separator));
      const agent = topicIdSchema.safeParse(id.slice(separator + 1));
      if (separator < 0 || !school.success || !agent.success) {
        context.addIssue({ code: 'custom', message: 'must be SCHOOL_ID:AGENT_ID (as listed by GET /api/agents)' });
        return z.NEVER;
      }
      return agentKey(school.data, agent.data);
    }),
});

const measurementsQuerySchema = z.strictObject({
  name: z.string().min(1).max(128).optional().describe('Only this test (network, avsync)'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only results at or after this time (ISO 8601); default: the last 7 days'),
  limit: z.coerce.number().int().min(1).max(5000).default(500).describe('At most this many results (1..5000)'),
});

const testsBodySchema = z.strictObject({
  tests: z.array(measureTestSchema).min(1).max(2).default(['network']).describe('network, avsync or both'),
});

export interface AgentsRoutesOptions {
  store: Store;
  /** Sends a measure-ask to the agent's inbox; without it (tests of the fleet API alone) "test now" is not offered. */
  askToTest?: (agent: AgentSummary, tests: readonly MeasureTest[]) => Promise<string>;
  /** Records who asked, for the audit log. */
  audit?: (entry: { actor: string; source: string; schoolId: string; target: string; detail: Record<string, unknown> }) => Promise<void>;
}

/** The fleet as the collector stored it: the list of agents, and one agent's state in detail. */
export function agentsRoutes(app: FastifyInstance, { store, askToTest, audit }: AgentsRoutesOptions): void {
  // Paged on the server: a provider's fleet has tens of thousands of PCs, a page shows fifty.
  app.get('/api/agents', async (request): Promise<{ agents: AgentSummary[]; total: number }> => {
    requirePermission(request, 'fleet.read');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const scope = scopeOf(request);
    // A school outside the caller's scope lists as empty, the same as a school without agents.
    if (query.school !== undefined && !inScope(scope, query.school)) return { agents: [], total: 0 };
    const schoolIds = scopeFilter(scope);
    const filter = {
      ...(query.school === undefined ? {} : { schoolId: query.school }),
      ...(schoolIds === undefined ? {} : { schoolIds }),
      ...(query.state === undefined ? {} : { state: query.state }),
      ...(query.q === undefined || query.q === '' ? {} : { text: query.q }),
      ...(query.faults === 'true' ? { withFaults: true } : {}),
    };
    return queryStore(() => store.agentsPage(filter, { limit: query.limit, offset: query.offset }));
  });

  app.get('/api/agents/:id', async (request): Promise<{ agent: AgentDetail }> => {
    requirePermission(request, 'fleet.read');
    const { id } = parseRequestPart(agentIdParamsSchema, request.params, 'path parameter');
    const { healthHours } = parseRequestPart(detailQuerySchema, request.query, 'query parameter');
    const healthSince = new Date(Date.now() - healthHours * 3_600_000);
    const notFound = new ApiError('AGENT_NOT_FOUND', `no agent "${id}" has reported to this cloud`);
    // Out of scope answers exactly as unknown: nobody learns which agents other schools have.
    if (!inScope(scopeOf(request), id.slice(0, id.indexOf(':')))) throw notFound;
    const agent = await queryStore(() => store.getAgent(id, { healthSince }));
    if (!agent) throw notFound;
    return { agent };
  });

  // "Run a network test now": the agent runs it if it accepts cloud requests and is not busy; the result arrives as telemetry.
  if (askToTest) {
    app.post('/api/agents/:id/tests', async (request) => {
      requirePermission(request, 'tests.run');
      const { id } = parseRequestPart(agentIdParamsSchema, request.params, 'path parameter');
      const { tests } = parseRequestPart(testsBodySchema, request.body ?? {}, 'body field');
      const notFound = new ApiError('AGENT_NOT_FOUND', `no agent "${id}" has reported to this cloud`);
      if (!inScope(scopeOf(request), id.slice(0, id.indexOf(':')))) throw notFound;
      const agent = await queryStore(() => store.getAgent(id, { healthSince: new Date() }));
      if (!agent) throw notFound;
      if (agent.state !== 'online') throw new ApiError('AGENT_OFFLINE', `agent "${id}" is ${agent.state}: it can test once it is back online`);
      const askId = await askToTest(agent, tests);
      const { actor, source } = actorOf(request);
      await audit?.({ actor, source, schoolId: agent.schoolId, target: `agent:${id}`, detail: { tests, askId } });
      return { asked: true, askId, tests };
    });
  }

  app.get('/api/agents/:id/measurements', async (request): Promise<{ agent: string; measurements: MeasurementPoint[] }> => {
    requirePermission(request, 'fleet.read');
    const { id } = parseRequestPart(agentIdParamsSchema, request.params, 'path parameter');
    const query = parseRequestPart(measurementsQuerySchema, request.query, 'query parameter');
    const notFound = new ApiError('AGENT_NOT_FOUND', `no agent "${id}" has reported to this cloud`);
    if (!inScope(scopeOf(request), id.slice(0, id.indexOf(':')))) throw notFound;
    if (!(await queryStore(() => store.getAgent(id, { healthSince: new Date() })))) throw notFound;
    const since = query.since === undefined ? new Date(Date.now() - 7 * 86_400_000) : new Date(query.since);
    const events = await queryStore(() => store.measurements(id, { since, limit: query.limit, ...(query.name === undefined ? {} : { name: query.name }) }));
    return {
      agent: id,
      measurements: events.flatMap((event) =>
        event.message.type === 'measurement'
          ? [{ at: event.at, roomId: event.message.roomId, name: event.message.name, value: event.message.value, unit: event.message.unit, details: event.message.details ?? null }]
          : [],
      ),
    };
  });
}

/** A database that cannot answer is the server's trouble, not the request's: 503, cause in the log. */
async function queryStore<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    throw new ApiError('STORE_UNAVAILABLE', 'the database cannot be queried right now', { cause: error });
  }
}
