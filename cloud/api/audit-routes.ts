import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { auditRecords } from '../audit/audit-anchors.js';
import { verifyAuditLog } from '../audit/audit-verify.js';
import type { Security } from '../security.js';
import { AuditExportWriter } from '../audit/audit-export.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const listQuerySchema = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601)'),
  after: z.coerce.number().int().min(0).optional().describe('Only entries after this sequence number (paging)'),
  action: z.string().regex(/^[a-z][a-z0-9.-]{1,63}$/).optional().describe('Only this action, e.g. auth.login'),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

const exportQuerySchema = z.strictObject({
  format: z.enum(['csv', 'json']).default('csv'),
  since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601)'),
  action: z.string().regex(/^[a-z][a-z0-9.-]{1,63}$/).optional().describe('Only this action, e.g. auth.login'),
});
const EXPORT_PAGE = 1000;

export interface AuditRoutesOptions {
  /** The anchors file, to check beside the database's anchors. */
  anchorFile?: string;
  /** The retention the cloud runs with: a prune of younger entries is a problem. */
  minRetentionDays?: number;
}

/** The audit log for operators (all of it) and school admins (their school's entries). */
export function auditRoutes(app: FastifyInstance, security: Security, options: AuditRoutesOptions = {}): void {
  app.get('/api/audit', async (request) => {
    requirePermission(request, 'audit.read');
    const query = parseRequestPart(listQuerySchema, request.query, 'query parameter');
    const schools = scopeFilter(scopeOf(request));
    const entries = await security.audit.list({
      ...(schools === undefined ? {} : { schoolIds: schools }),
      ...(query.since === undefined ? {} : { since: new Date(query.since) }),
      ...(query.after === undefined ? {} : { afterSeq: query.after }),
      ...(query.action === undefined ? {} : { action: query.action }),
      limit: query.limit,
    });
    return { entries, next: entries.length === query.limit ? (entries[entries.length - 1]?.seq ?? null) : null };
  });

  // The entries a reader may see as a file: CSV for a spreadsheet (formula cells neutralised) or JSON, written page by page.
  app.get('/api/audit/export', async (request, reply) => {
    requirePermission(request, 'audit.read');
    const query = parseRequestPart(exportQuerySchema, request.query, 'query parameter');
    const schools = scopeFilter(scopeOf(request));
    async function* pages(): AsyncGenerator<string> {
      const chunks: string[] = [];
      const writer = new AuditExportWriter({ write: (chunk: string) => chunks.push(chunk) }, query.format);
      let afterSeq: number | undefined = undefined;
      for (;;) {
        const entries = await security.audit.list({
          ...(schools === undefined ? {} : { schoolIds: schools }),
          ...(query.since === undefined ? {} : { since: new Date(query.since) }),
          ...(afterSeq === undefined ? {} : { afterSeq }),
          ...(query.action === undefined ? {} : { action: query.action }),
          limit: EXPORT_PAGE,
        });
        for (const entry of entries) writer.write(entry);
        yield chunks.splice(0).join('');
        if (entries.length < EXPORT_PAGE) break;
        afterSeq = entries[entries.length - 1]?.seq;
      }
      writer.end();
      yield chunks.splice(0).join('');
    }
    const stamp = new Date().toISOString().slice(0, 10);
    return reply
      .type(query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="avcare-audit-${stamp}.${query.format}"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(pages()));
  });

  app.get('/api/audit/verify', async (request) => {
    const principal = requirePermission(request, 'audit.read');
    // A school's admin reads their part; the chain as a whole is the operator's.
    if (principal.role !== 'operator') throw new ApiError('FORBIDDEN', 'only an operator verifies the whole audit chain');
    const records = await auditRecords(security.audit.database, options.anchorFile);
    const report = await verifyAuditLog({
      audit: security.audit,
      anchors: records.anchors,
      prunes: records.prunes,
      publicKeyPem: security.signingKey.publicKeyPem,
      ...(options.minRetentionDays === undefined ? {} : { minRetentionDays: options.minRetentionDays }),
    });
    return { ...report, anchorFileProblems: records.fileProblems };
  });
}
