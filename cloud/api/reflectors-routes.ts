import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { REFLECTOR_ID_PATTERN } from '../identity/reflector-registry.js';
import type { Security } from '../security.js';
import { parseRequestPart } from './parse-request.js';
import { actorOf, requirePermission } from './request-auth.js';

const reflectorIdSchema = z.string().regex(REFLECTOR_ID_PATTERN, 'must be letters, digits, dot, dash or underscore, at most 64, starting with a letter or digit');
const newReflectorBodySchema = z.strictObject({ id: reflectorIdSchema });
const reflectorParamsSchema = z.strictObject({ id: reflectorIdSchema });
const listQuerySchema = z.strictObject({ revoked: z.enum(['true', 'false']).optional().describe('true: list revoked accounts too') });

/**
 * Broker accounts for reflectors that run in their own process (`avcare-cloud reflector`): an
 * operator creates one and hands its secret to whoever runs the reflector; revoking it stops it.
 */
export function reflectorsRoutes(app: FastifyInstance, security: Security): void {
  app.get('/api/reflectors', async (request) => {
    requirePermission(request, 'reflectors.manage');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    return { reflectors: await security.reflectors.list({ includeRevoked: query.revoked === 'true' }) };
  });

  app.post('/api/reflectors', async (request) => {
    requirePermission(request, 'reflectors.manage');
    const { id } = parseRequestPart(newReflectorBodySchema, request.body ?? {}, 'body field');
    const created = await security.reflectors.create(id, actorOf(request));
    // The secret is shown this once: only its hash is kept. The key lets the reflector check grants.
    return { reflector: created.account, secret: created.secret, cloudPublicKey: security.signingKey.publicKeyPem, brokerUrl: security.enrollment.brokerUrl(request.hostname) };
  });

  app.post('/api/reflectors/:id/revoke', async (request) => {
    requirePermission(request, 'reflectors.manage');
    const { id } = parseRequestPart(reflectorParamsSchema, request.params, 'path parameter');
    return { reflector: await security.reflectors.revoke(id, actorOf(request)) };
  });
}
