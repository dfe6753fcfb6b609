import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { topicIdSchema } from '../../protocol/index.js';
import { inScope } from '../accounts/access-policy.js';
import type { Dialect } from '../store/dialect.js';
import { QUALITY_GROUPS, qualityCsv, serviceQuality } from '../tickets/service-quality.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const DAY_MS = 86_400_000;

const qualityQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional().describe('Tickets opened at or after this time (default: 30 days before `to`)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Tickets opened before this time (default: now)'),
  groupBy: z.enum(QUALITY_GROUPS).default('category').describe('category, severity, school, region or team'),
  school: topicIdSchema.optional().describe('Only this school'),
  format: z.enum(['json', 'csv']).default('json'),
});

/** GET /api/quality: the service-quality report of the reader's schools, computed by the database. */
export function qualityRoutes(app: FastifyInstance, { db, now = () => new Date() }: { db: Dialect; now?: () => Date }): void {
  app.get('/api/quality', async (request, reply) => {
    requirePermission(request, 'tickets.read');
    const query = parseRequestPart(qualityQuerySchema, request.query, 'query parameter');
    const to = query.to === undefined ? now() : new Date(query.to);
    const from = query.from === undefined ? new Date(to.getTime() - 30 * DAY_MS) : new Date(query.from);
    if (from.getTime() >= to.getTime()) throw new ApiError('INVALID_ARGUMENT', 'query parameter "from" must be before "to"');
    if (to.getTime() - from.getTime() > 366 * DAY_MS) throw new ApiError('INVALID_ARGUMENT', 'the period may be at most 366 days (query parameters "from" and "to")');
    const scope = scopeOf(request);
    const schoolIds = query.school === undefined ? scopeFilter(scope) : inScope(scope, query.school) ? [query.school] : [];
    let report;
    try {
      report = await serviceQuality(db, { from, to, groupBy: query.groupBy, ...(schoolIds === undefined ? {} : { schoolIds }) });
    } catch (error) {
      throw new ApiError('STORE_UNAVAILABLE', 'the database cannot be queried right now', { cause: error });
    }
    if (query.format === 'csv') {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="avcare-service-quality-${query.groupBy}-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}.csv"`)
        .send(qualityCsv(report));
    }
    return report;
  });
}
