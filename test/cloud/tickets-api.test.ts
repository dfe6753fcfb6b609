import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import type { TicketView } from '../../cloud/tickets/ticket-engine.js';
import type { Ticket } from '../../cloud/tickets/ticket-store.js';
import { accepted, messagesFrom, T0 } from '../store/store-messages.js';
import { bearer, testSecurity, type TestSecurity } from '../helpers/security.js';

const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
/** A device name as a hostile USB device could report it: the API returns it as JSON data, never markup. */
const HOSTILE = '<img src=x onerror=alert(1)>';

describe('ticket API', () => {
  let store: Store;
  let engine: TicketEngine;
  let app: FastifyInstance;
  let ticketId: string;
  let auth: TestSecurity;
  let operator: { authorization: string };

  beforeAll(async () => {
    store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'avcare-tickets-api-')), 'avcare.db')}`);
    await store.migrate();
    let clock = T0 + 5 * 60_000;
    // Team east covers sch-1's region; team west covers none of these schools.
    const directory = {
      ...EMPTY_DIRECTORY,
      route: (school: string) => ({ regionId: 'r', teamId: school === 'sch-1' ? 'east' : null }),
      schoolsOfTeam: (team: string) => (team === 'east' ? new Set(['sch-1']) : team === 'west' ? new Set<string>() : undefined),
    };
    auth = await testSecurity(store, { directory });
    operator = bearer(auth.operatorToken);
    engine = new TicketEngine({
      db: store.database,
      directory,
      log: pino({ level: 'silent' }),
      now: () => clock,
      onPersonAction: (tx, action) => auth.security.audit.appendIn(tx, { actor: action.actor, action: `ticket.${action.action}`, target: `ticket:${action.ticketId}`, outcome: 'success', schoolId: action.schoolId }).then(() => undefined),
    });
    app = buildApp({ store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), tickets: engine, security: auth.security });
    const pc01 = messagesFrom({ schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' });
    const pc07 = messagesFrom({ schoolId: 'sch-2', roomId: 'lab', agentId: 'pc-07' });
    // One after the other, so "newest first" has an answer.
    for (const message of [pc01.fault('raised', { at: at(0), message: HOSTILE }), pc07.fault('raised', { at: at(1), code: 'DISK_NEARLY_FULL', deviceId: null, evidence: {} })]) {
      const result = await store.ingest([accepted(message)]);
      if (result.changed) engine.notify(result.changed);
      await engine.settle();
      clock += 60_000;
    }
    ticketId = (await engine.store.list({ schoolId: 'sch-1' }))[0]?.id ?? '';
  });

  afterAll(async () => {
    await app.close();
    await engine.stop();
    await store.close();
  });

  it('lists tickets newest first and filters by school, status, severity and team', async () => {
    const all = (await app.inject({ url: '/api/tickets', headers: operator })).json<{ tickets: Ticket[] }>().tickets;
    expect(all.map((ticket) => [ticket.schoolId, ticket.code, ticket.severity, ticket.teamId])).toEqual([
      ['sch-2', 'DISK_NEARLY_FULL', 'general', null],
      ['sch-1', 'DEVICE_MISSING', 'urgent', 'east'],
    ]);
    const filtered = async (query: string) => (await app.inject({ url: `/api/tickets?${query}`, headers: operator })).json<{ tickets: Ticket[] }>().tickets.map((ticket) => ticket.schoolId);
    expect(await filtered('school=sch-1')).toEqual(['sch-1']);
    expect(await filtered('severity=general')).toEqual(['sch-2']);
    expect(await filtered('team=east')).toEqual(['sch-1']);
    expect(await filtered('status=resolved')).toEqual([]);
    expect(await filtered('agent=sch-2:pc-07')).toEqual(['sch-2']);
    // Paged on the server, newest first, with the count of all that match.
    const page = async (query: string) => (await app.inject({ url: `/api/tickets?${query}`, headers: operator })).json<{ tickets: Ticket[]; total: number }>();
    expect(await page('limit=1')).toMatchObject({ total: 2, tickets: [{ schoolId: 'sch-2' }] });
    expect(await page('limit=1&offset=1')).toMatchObject({ total: 2, tickets: [{ schoolId: 'sch-1' }] });
    expect(await page('limit=1&offset=2')).toEqual({ total: 2, tickets: [] });
  });

  it('rejects a bad filter with the parameter named', async () => {
    const response = await app.inject({ url: '/api/tickets?severity=apocalyptic', headers: operator });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('"severity"') as string } });
    expect((await app.inject({ url: '/api/tickets?colour=red', headers: operator })).json()).toMatchObject({ error: { message: 'unknown query parameter "colour"' } });
  });

  it('shows one ticket with its history and diagnostic bundle, with device strings as JSON data', async () => {
    const response = await app.inject({ url: `/api/tickets/${ticketId}`, headers: operator });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const body = response.json<{ ticket: TicketView; history: Array<{ action: string }>; bundle: { fault: { message: string } } }>();
    expect(body.ticket.description).toContain(HOSTILE);
    expect(body.bundle.fault.message).toBe(HOSTILE);
    expect(body.history.map((entry) => entry.action)).toEqual(['opened']);
    // Where the SLA stands, in the school's business calendar.
    expect(body.ticket.sla.firstResponse).toMatchObject({ name: 'first-response', targetMs: 2 * 3_600_000 });
    expect(['running', 'near-breach', 'breached']).toContain(body.ticket.sla.resolution.state);
    expect((await app.inject({ url: '/api/tickets/TK-00000000', headers: operator })).json()).toMatchObject({ error: { code: 'TICKET_NOT_FOUND' } });
    expect((await app.inject({ url: '/api/tickets/1%27%20OR%201=1', headers: operator })).statusCode).toBe(400);
  });

  it('acknowledges, starts, resolves, rates and closes through POSTs as the signed-in people, refusing moves out of order with 409', async () => {
    const engineer = bearer(await auth.tokenFor({ name: 'engineer-wang', role: 'engineer', teamId: 'east' }));
    const schoolAdmin = bearer(await auth.tokenFor({ name: 'admin-zhang', role: 'school_admin', schoolId: 'sch-1' }));
    const post = (action: string, body: unknown, headers = engineer) => app.inject({ method: 'POST', url: `/api/tickets/${ticketId}/${action}`, payload: body as Record<string, unknown>, headers });
    // Who acts is whoever signed in: a free-text name is refused.
    expect((await post('ack', { by: 'someone-else' })).json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: 'unknown body field "by"' } });
    expect((await post('ack', {})).json()).toMatchObject({ ticket: { status: 'acknowledged' } });
    expect((await post('start', {})).json()).toMatchObject({ ticket: { status: 'in_progress' } });
    const conflict = await post('ack', {});
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error: { code: 'TICKET_STATE_CONFLICT', message: expect.stringContaining('is in progress') as string } });
    expect((await post('rate', { score: 9 }, schoolAdmin)).statusCode).toBe(400);
    expect((await post('resolve', { note: 'reseated the camera cable', cause: 'loose cable' })).json()).toMatchObject({
      ticket: { status: 'resolved', resolution: { by: 'user:engineer-wang', cause: 'loose cable', verifiedBy: 'engineer' } },
    });
    expect((await post('rate', { score: 4, comment: 'ok' }, schoolAdmin)).json()).toMatchObject({ ticket: { rating: { score: 4 } } });
    // The resolution feeds the knowledge base for the code, next to the fixed self-help steps.
    const knowledge = (await app.inject({ url: '/api/knowledge/DEVICE_MISSING', headers: engineer })).json<{ knowledge: { selfHelp: string[]; pastResolutions: Array<{ ticketId: string; cause: string; by: string }> } }>().knowledge;
    expect(knowledge.selfHelp[0]).toMatch(/plugged in/);
    expect(knowledge.pastResolutions).toEqual([expect.objectContaining({ ticketId, cause: 'loose cable', by: 'user:engineer-wang' })]);
    expect((await app.inject({ url: '/api/knowledge/not-a-code', headers: engineer })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/tickets/${ticketId}`, headers: engineer })).json()).toMatchObject({ knowledge: { code: 'DEVICE_MISSING', pastResolutions: [{ note: 'reseated the camera cable' }] } });
    const closed = (await post('close', {}, schoolAdmin)).json<{ ticket: Ticket; history: Array<{ actor: string; action: string }> }>();
    expect(closed.ticket.status).toBe('closed');
    expect(closed.history.map((entry) => `${entry.actor}:${entry.action}`)).toEqual([
      'agent:opened',
      'user:engineer-wang:acknowledged',
      'user:engineer-wang:started',
      'user:engineer-wang:resolved',
      'user:admin-zhang:rated',
      'user:admin-zhang:closed',
    ]);
    // Every move a person made is in the audit log, with who made it.
    const audited = (await auth.security.audit.list({ schoolIds: ['sch-1'] })).filter((entry) => entry.action.startsWith('ticket.'));
    expect(audited.map((entry) => `${entry.actor} ${entry.action} ${entry.target ?? ''}`)).toEqual([
      `user:engineer-wang ticket.acknowledged ticket:${ticketId}`,
      `user:engineer-wang ticket.started ticket:${ticketId}`,
      `user:engineer-wang ticket.resolved ticket:${ticketId}`,
      `user:admin-zhang ticket.rated ticket:${ticketId}`,
      `user:admin-zhang ticket.closed ticket:${ticketId}`,
    ]);
  });

  it('shows each person the tickets of their scope only: another school\'s ticket is 404, not 403', async () => {
    const otherTicket = (await engine.store.list({ schoolId: 'sch-2' }))[0]?.id ?? '';
    const east = bearer(await auth.tokenFor({ name: 'engineer-east', role: 'engineer', teamId: 'east' }));
    const west = bearer(await auth.tokenFor({ name: 'engineer-west', role: 'engineer', teamId: 'west' }));
    const teacher = bearer(await auth.tokenFor({ name: 'teacher-sch2', role: 'it_teacher', schoolId: 'sch-2' }));
    const list = async (headers: { authorization: string }, query = '') => (await app.inject({ url: `/api/tickets${query}`, headers })).json<{ tickets: Ticket[] }>().tickets.map((ticket) => ticket.schoolId);
    expect(await list(east)).toEqual(['sch-1']);
    expect(await list(west)).toEqual([]);
    expect(await list(teacher)).toEqual(['sch-2']);
    expect(await list(teacher, '?school=sch-1')).toEqual([]);
    for (const [headers, id] of [[west, ticketId], [teacher, ticketId], [east, otherTicket]] as const) {
      const shown = await app.inject({ url: `/api/tickets/${id}`, headers });
      expect(shown.statusCode).toBe(404);
      expect(shown.json()).toMatchObject({ error: { code: 'TICKET_NOT_FOUND' } });
      expect((await app.inject({ method: 'POST', url: `/api/tickets/${id}/ack`, payload: {}, headers })).statusCode).toBe(404);
    }
    // In scope but not the role's move: an IT teacher does not acknowledge tickets.
    const forbidden = await app.inject({ method: 'POST', url: `/api/tickets/${otherTicket}/ack`, payload: {}, headers: teacher });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('shows past resolutions only from the reader\'s schools, through /api/knowledge and inside a ticket; self-help is the same for all', async () => {
    // sch-2's disk ticket is resolved with notes that are sch-2's business.
    const sch2Ticket = (await engine.store.list({ schoolId: 'sch-2' }))[0]?.id ?? '';
    const resolved = await app.inject({ method: 'POST', url: `/api/tickets/${sch2Ticket}/resolve`, payload: { note: 'cleared the recordings\u2028of teacher Liu\u202e', cause: 'lecture \u2067captures\u2069 of class 3' }, headers: operator });
    // What people read later loses bidi controls; a Unicode line separator becomes a plain line break.
    expect(resolved.json()).toMatchObject({ ticket: { resolution: { note: 'cleared the recordings\nof teacher Liu', cause: 'lecture captures of class 3' } } });
    // sch-1 gets the same fault: its ticket must not show sch-2's resolution to sch-1's people.
    const result = await store.ingest([accepted(messagesFrom({ schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' }).fault('raised', { at: at(30), code: 'DISK_NEARLY_FULL', deviceId: null, evidence: {} }))]);
    if (result.changed) engine.notify(result.changed);
    await engine.settle();
    const sch1Disk = (await engine.store.list({ schoolId: 'sch-1' })).find((ticket) => ticket.code === 'DISK_NEARLY_FULL')?.id ?? '';
    expect(sch1Disk).not.toBe('');
    const east = bearer(await auth.tokenFor({ name: 'engineer-east', role: 'engineer', teamId: 'east' }));
    const adminSch1 = bearer(await auth.tokenFor({ name: 'admin-zhang', role: 'school_admin', schoolId: 'sch-1' }));
    const teacherSch2 = bearer(await auth.tokenFor({ name: 'teacher-sch2', role: 'it_teacher', schoolId: 'sch-2' }));
    type Shown = { knowledge: { selfHelp: string[]; pastResolutions: Array<{ ticketId: string; note: string; by: string }> } };
    const knowledgeFor = async (headers: { authorization: string }) => (await app.inject({ url: '/api/knowledge/DISK_NEARLY_FULL', headers })).json<Shown>().knowledge;
    for (const reader of [east, adminSch1]) {
      const shown = await knowledgeFor(reader);
      expect(shown.pastResolutions).toEqual([]);
      expect(shown.selfHelp.length).toBeGreaterThan(0);
      const inTicket = (await app.inject({ url: `/api/tickets/${sch1Disk}`, headers: reader })).json<Shown>().knowledge;
      expect(inTicket.pastResolutions).toEqual([]);
      expect(JSON.stringify(inTicket)).not.toContain('teacher Liu');
    }
    expect((await knowledgeFor(teacherSch2)).pastResolutions.map((past) => past.ticketId)).toEqual([sch2Ticket]);
    // The operator serves every school and sees every resolution.
    expect((await app.inject({ url: `/api/tickets/${sch1Disk}`, headers: operator })).json<Shown>().knowledge.pastResolutions.map((past) => past.ticketId)).toEqual([sch2Ticket]);
  });

  it('lists every API route it serves in the index at /api, the ticket routes included, and not the console\'s pages', async () => {
    const index = (await app.inject({ url: '/api', headers: operator })).json<{ note: string; routes: string[] }>();
    expect(index.note).toContain('the web console is at /');
    for (const route of ['GET /api/tickets', 'GET /api/tickets/:id', 'POST /api/tickets/:id/ack', 'POST /api/tickets/:id/rate', 'GET /api/knowledge/:code', 'GET /api/agents', 'POST /api/enroll', 'GET /api/audit', 'POST /api/auth/login', 'GET /healthz', 'GET /metrics', 'GET /api']) {
      expect(index.routes).toContain(route);
    }
    expect(index.routes).not.toContain('HEAD /api');
    expect(index.routes).not.toContain('GET /');
    expect(index.routes).not.toContain('GET /*');
    expect(index.routes).not.toContain('GET /api/*');
  });

  it('refuses every ticket route without a valid token', async () => {
    for (const url of ['/api/tickets', `/api/tickets/${ticketId}`, '/api/knowledge/DEVICE_MISSING']) {
      const anonymous = await app.inject({ url });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
      expect((await app.inject({ url, headers: bearer('avc_at_not-a-real-token') })).statusCode).toBe(401);
    }
  });
});
