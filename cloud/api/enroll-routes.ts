import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { enrollRequestSchema, personLineSchema, topicIdSchema, type EnrollResponse } from '../../protocol/index.js';
import { inScope } from '../accounts/access-policy.js';
import type { EnrolledAgent } from '../identity/agent-registry.js';
import { newEnrollTokenSchema } from '../identity/enroll-tokens.js';
import type { Security } from '../security.js';
import { agentKey } from '../store/store.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { actorOf, requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const listQuerySchema = z.strictObject({ school: topicIdSchema.optional() });
const tokenParamsSchema = z.strictObject({ id: z.string().regex(/^ET-[0-9A-Z]{10}$/, 'must be a token id like ET-7F3K9QXM2A') });
const newTokenBodySchema = newEnrollTokenSchema.omit({ schoolId: true }).extend({ school: topicIdSchema });
const revokeAgentBodySchema = z.strictObject({ reason: personLineSchema(500).optional() });
const enrolledQuerySchema = z.strictObject({ school: topicIdSchema.optional(), revoked: z.enum(['true', 'false']).optional().describe('true: list revoked agents too') });

/** `SCHOOL:AGENT` as in the fleet API. */
const agentParamsSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be SCHOOL_ID:AGENT_ID'),
});

/**
 * How PCs join a school: enrollment tokens (school admins and operators), the enrollment itself
 * (the agent, with a token), and the enrolled agents with their revocation.
 */
export function enrollRoutes(app: FastifyInstance, security: Security): void {
  app.post('/api/enroll', { config: { access: 'credentials' } }, async (request): Promise<EnrollResponse> => {
    const body = parseRequestPart(enrollRequestSchema, request.body ?? {}, 'body field');
    return security.enrollment.enroll(body, request.ip, request.hostname);
  });

  // A challenge for the PC to sign with its key: no credential in it, so public, and cheap (one signature).
  app.post('/api/enroll/challenge', { config: { access: 'public' } }, () => security.enrollment.challenge());

  app.get('/api/enroll-tokens', async (request) => {
    requirePermission(request, 'enroll.manage');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const scope = scopeOf(request);
    const schools = query.school === undefined ? scopeFilter(scope) : inScope(scope, query.school) ? [query.school] : [];
    return { tokens: await security.enrollTokens.list(schools === undefined ? {} : { schoolIds: schools }) };
  });

  app.post('/api/enroll-tokens', async (request) => {
    requirePermission(request, 'enroll.manage');
    const { school, ...rest } = parseRequestPart(newTokenBodySchema, request.body ?? {}, 'body field');
    if (!inScope(scopeOf(request), school)) throw new ApiError('SCHOOL_NOT_FOUND', `no school "${school}" in your scope`);
    const created = await security.enrollTokens.create({ ...rest, schoolId: school }, actorOf(request));
    // The token is shown this once: only its hash is kept.
    return { token: created.token, info: created.info };
  });

  app.post('/api/enroll-tokens/:id/revoke', async (request) => {
    requirePermission(request, 'enroll.manage');
    const { id } = parseRequestPart(tokenParamsSchema, request.params, 'path parameter');
    const token = await security.enrollTokens.get(id);
    if (!token || !inScope(scopeOf(request), token.schoolId)) throw new ApiError('ENROLL_TOKEN_NOT_FOUND', `no enrollment token ${id} in your scope`);
    return { info: await security.enrollTokens.revoke(id, actorOf(request)) };
  });

  app.get('/api/enrolled-agents', async (request) => {
    requirePermission(request, 'fleet.read');
    const query = parseRequestPart(enrolledQuerySchema, request.query, 'query parameter');
    const scope = scopeOf(request);
    const schools = query.school === undefined ? scopeFilter(scope) : inScope(scope, query.school) ? [query.school] : [];
    return { agents: await security.registry.list({ ...(schools === undefined ? {} : { schoolIds: schools }), includeRevoked: query.revoked === 'true' }) };
  });

  /** The enrolled agent the path names, if the caller may act on it; 404 for one outside their scope, as for an unknown one. */
  async function enrolledInScope(request: FastifyRequest): Promise<EnrolledAgent> {
    requirePermission(request, 'agents.revoke');
    const { id } = parseRequestPart(agentParamsSchema, request.params, 'path parameter');
    const [schoolId = '', agentId = ''] = id.split(':');
    const enrolled = await security.registry.get(agentKey(schoolId, agentId));
    if (!enrolled || !inScope(scopeOf(request), enrolled.schoolId)) throw new ApiError('AGENT_NOT_FOUND', `no enrolled agent "${id}" in your scope`);
    return enrolled;
  }

  app.post('/api/agents/:id/revoke', async (request) => {
    const enrolled = await enrolledInScope(request);
    const body = parseRequestPart(revokeAgentBodySchema, request.body ?? {}, 'body field');
    return { agent: await security.registry.revoke(enrolled.id, actorOf(request), body.reason ?? null) };
  });

  // An admin's explicit act: a revoked agent may come back as itself at its PC's next (proven) enrollment.
  app.post('/api/agents/:id/readmit', async (request) => {
    const enrolled = await enrolledInScope(request);
    return { agent: await security.registry.readmit(enrolled.id, actorOf(request)) };
  });
}
