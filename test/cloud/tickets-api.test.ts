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
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-directory.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import type { TicketView } from '../../cloud/tickets/ticket-engine.js';
import type { Ticket } from '../../cloud/tickets/ticket-store.js';
import { accepted, messagesFrom, T0 } from '../store/store-messages.js';

const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
/** A device name as a hostile USB device could report it: the API returns it as JSON data, never markup. */
const HOSTILE = '<img src=x onerror=alert(1)>';

describe('ticket API', () => {
  let store: Store;
  let engine: TicketEngine;
  let app: FastifyInstance;
  let ticketId: string;

  beforeAll(async () => {
    store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'avcare-tickets-api-')), 'avcare.db')}`);
    await store.migrate();
    let clock = T0 + 5 * 60_000;
    engine = new TicketEngine({ db: store.database, directory: { ...EMPTY_DIRECTORY, route: (school) => ({ regionId: 'r', teamId: school === 'sch-1' ? 'east' : null }) }, log: pino({ level: 'silent' }), now: () => clock });
    app = buildApp({ store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), tickets: engine });
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
    const all = (await app.inject('/api/tickets')).json<{ tickets: Ticket[] }>().tickets;
    expect(all.map((ticket) => [ticket.schoolId, ticket.code, ticket.severity, ticket.teamId])).toEqual([
      ['sch-2', 'DISK_NEARLY_FULL', 'general', null],
      ['sch-1', 'DEVICE_MISSING', 'urgent', 'east'],
    ]);
    const filtered = async (query: string) => (await app.inject(`/api/tickets?${query}`)).json<{ tickets: Ticket[] }>().tickets.map((ticket) => ticket.schoolId);
    expect(await filtered('school=sch-1')).toEqual(['sch-1']);
    expect(await filtered('severity=general')).toEqual(['sch-2']);
    expect(await filtered('team=east')).toEqual(['sch-1']);
    expect(await filtered('status=resolved')).toEqual([]);
    expect(await filtered('agent=sch-2:pc-07')).toEqual(['sch-2']);
  });

  it('rejects a bad filter with the parameter named', async () => {
    const response = await app.inject('/api/tickets?severity=apocalyptic');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('"severity"') as string } });
    expect((await app.inject('/api/tickets?colour=red')).json()).toMatchObject({ error: { message: 'unknown query parameter "colour"' } });
  });

  it('shows one ticket with its history and diagnostic bundle, with device strings as JSON data', async () => {
    const response = await app.inject(`/api/tickets/${ticketId}`);
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
    expect((await app.inject('/api/tickets/TK-00000000')).json()).toMatchObject({ error: { code: 'TICKET_NOT_FOUND' } });
    expect((await app.inject('/api/tickets/1%27%20OR%201=1')).statusCode).toBe(400);
  });

  it('acknowledges, starts, resolves, rates and closes through POSTs, refusing moves out of order with 409', async () => {
    const post = (action: string, body: unknown) => app.inject({ method: 'POST', url: `/api/tickets/${ticketId}/${action}`, payload: body as Record<string, unknown> });
    expect((await post('ack', {})).json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('"by"') as string } });
    expect((await post('ack', { by: 'engineer-wang' })).json()).toMatchObject({ ticket: { status: 'acknowledged' } });
    expect((await post('start', { by: 'engineer-wang' })).json()).toMatchObject({ ticket: { status: 'in_progress' } });
    const conflict = await post('ack', { by: 'engineer-li' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({ error: { code: 'TICKET_STATE_CONFLICT', message: expect.stringContaining('is in progress') as string } });
    expect((await post('rate', { by: 'school:admin', score: 9 })).statusCode).toBe(400);
    expect((await post('resolve', { by: 'engineer-wang', note: 'reseated the camera cable', cause: 'loose cable' })).json()).toMatchObject({
      ticket: { status: 'resolved', resolution: { by: 'engineer-wang', cause: 'loose cable', verifiedBy: 'engineer' } },
    });
    expect((await post('rate', { by: 'school:admin', score: 4, comment: 'ok' })).json()).toMatchObject({ ticket: { rating: { score: 4 } } });
    // The resolution feeds the knowledge base for the code, next to the fixed self-help steps.
    const knowledge = (await app.inject('/api/knowledge/DEVICE_MISSING')).json<{ knowledge: { selfHelp: string[]; pastResolutions: Array<{ ticketId: string; cause: string; by: string }> } }>().knowledge;
    expect(knowledge.selfHelp[0]).toMatch(/plugged in/);
    expect(knowledge.pastResolutions).toEqual([expect.objectContaining({ ticketId, cause: 'loose cable', by: 'engineer-wang' })]);
    expect((await app.inject('/api/knowledge/not-a-code')).statusCode).toBe(400);
    expect((await app.inject(`/api/tickets/${ticketId}`)).json()).toMatchObject({ knowledge: { code: 'DEVICE_MISSING', pastResolutions: [{ note: 'reseated the camera cable' }] } });
    const closed = (await post('close', { by: 'engineer-wang' })).json<{ ticket: Ticket; history: Array<{ actor: string; action: string }> }>();
    expect(closed.ticket.status).toBe('closed');
    expect(closed.history.map((entry) => `${entry.actor}:${entry.action}`)).toEqual([
      'agent:opened',
      'engineer-wang:acknowledged',
      'engineer-wang:started',
      'engineer-wang:resolved',
      'school:admin:rated',
      'engineer-wang:closed',
    ]);
  });
});
