/**
 * The service-quality report, computed by the database (SQLite and PostgreSQL alike): tickets
 * opened in a period, how fast they were answered, resolved and reached on site, whether each SLA
 * promise was kept, who fixed them, the schools' ratings, and repeat faults per room.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import type { QualityReport } from '../../cloud/tickets/service-quality.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { accepted, messagesFrom, T0 } from '../store/store-messages.js';
import { bearer, testSecurity, type TestSecurity } from '../helpers/security.js';

const MINUTE = 60_000;

describe.each<Backend>(['sqlite', 'postgres'])('service quality on %s', (backend) => {
  let opened: StoreUnderTest;
  let engine: TicketEngine;
  let app: FastifyInstance;
  let auth: TestSecurity;
  let clock = T0;

  beforeAll(async () => {
    opened = await openTestStore(backend);
    const directory = { ...EMPTY_DIRECTORY, route: (school: string) => ({ regionId: 'hz', teamId: school === 'sch-1' ? 'east' : 'west' }) };
    auth = await testSecurity(opened.store, { directory });
    engine = new TicketEngine({ db: opened.store.database, directory, log: pino({ level: 'silent' }), now: () => clock });
    app = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), tickets: engine, security: auth.security });
    const raise = async (school: string, agent: string, code: 'DEVICE_MISSING' | 'DISK_NEARLY_FULL', deviceId: string | null) => {
      const message = messagesFrom({ schoolId: school, roomId: 'r101', agentId: agent }).fault('raised', { at: new Date(clock).toISOString(), code, deviceId, severity: 'urgent' });
      const result = await opened.store.ingest([accepted(message, new Date(clock))]);
      if (result.changed) engine.notify(result.changed);
      await engine.settle();
    };
    await raise('sch-1', 'pc-01', 'DEVICE_MISSING', 'expected:usb:camera');
    await raise('sch-1', 'pc-01', 'DISK_NEARLY_FULL', null);
    await raise('sch-2', 'pc-05', 'DEVICE_MISSING', 'expected:usb:camera');
    const tickets = await engine.store.list({});
    const id = (school: string, code: string) => tickets.find((ticket) => ticket.schoolId === school && ticket.code === code)?.id ?? '';
    // sch-1's camera: answered in 10 min, resolved remotely at 60 min, rated 4.
    clock += 10 * MINUTE;
    await engine.acknowledge(id('sch-1', 'DEVICE_MISSING'), 'user:eng');
    clock += 50 * MINUTE;
    await engine.resolve(id('sch-1', 'DEVICE_MISSING'), 'user:eng', { note: 'reseated the cable' });
    await engine.rate(id('sch-1', 'DEVICE_MISSING'), 'user:admin', { score: 4 });
    // sch-2's camera: an on-site visit, resolved there at 3 h, rated 2.
    clock += 20 * MINUTE;
    await engine.requestOnSite(id('sch-2', 'DEVICE_MISSING'), 'user:eng');
    clock += 100 * MINUTE;
    await engine.arriveOnSite(id('sch-2', 'DEVICE_MISSING'), 'user:eng');
    await engine.resolve(id('sch-2', 'DEVICE_MISSING'), 'user:eng', { note: 'replaced the camera' });
    await engine.rate(id('sch-2', 'DEVICE_MISSING'), 'user:admin2', { score: 2 });
  });

  afterAll(async () => {
    await app.close();
    await engine.stop();
    await opened.dispose();
  });

  const report = async (query: string, who = bearer(auth.operatorToken)): Promise<QualityReport> => (await app.inject({ url: `/api/quality?${query}`, headers: who })).json<QualityReport>();
  const period = `from=${new Date(T0 - MINUTE).toISOString()}&to=${new Date(T0 + 24 * 60 * MINUTE).toISOString()}`;

  it('counts, times and SLA attainment per school and in total, and who fixed what', async () => {
    const bySchool = await report(`${period}&groupBy=school`);
    expect(bySchool.total).toMatchObject({ opened: 3, resolved: 2, resolvedRemotely: 1, resolvedOnSite: 1, resolvedByAgent: 0, ratings: 2, meanRating: 3 });
    const school1 = bySchool.groups.find((group) => group.group === 'sch-1');
    expect(school1).toMatchObject({ opened: 2, resolved: 1, meanFirstResponseMs: 10 * MINUTE, meanResolveMs: 60 * MINUTE, meanRating: 4, resolvedRemotely: 1 });
    // Urgent: a first response within the contract's target, kept; the open disk ticket is not due yet and does not count.
    expect(school1?.firstResponseAttainment).toBe(100);
    const school2 = bySchool.groups.find((group) => group.group === 'sch-2');
    expect(school2).toMatchObject({ opened: 1, resolvedOnSite: 1, meanOnSiteMs: 100 * MINUTE, meanRating: 2 });
    expect(school2?.onSiteAttainment).not.toBeNull();
    expect((await report(`${period}&groupBy=team`)).groups.map((group) => [group.group, group.opened]).sort()).toEqual([['east', 2], ['west', 1]]);
    expect((await report(`${period}&groupBy=category`)).groups.reduce((sum, group) => sum + group.opened, 0)).toBe(3);
  });

  it('keeps to the reader\'s schools and the period, and exports CSV', async () => {
    const admin = bearer(await auth.tokenFor({ name: 'admin-sch2', role: 'school_admin', schoolId: 'sch-2' }));
    expect((await report(`${period}&groupBy=school`, admin)).groups.map((group) => group.group)).toEqual(['sch-2']);
    const later = `from=${new Date(T0 + 24 * 60 * MINUTE).toISOString()}&to=${new Date(T0 + 48 * 60 * MINUTE).toISOString()}`;
    expect((await report(`${later}&groupBy=school`)).total.opened).toBe(0);
    const csv = await app.inject({ url: `/api/quality?${period}&groupBy=school&format=csv`, headers: bearer(auth.operatorToken) });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toMatch(/^group,opened,resolved,meanFirstResponseMin/);
    expect(lines.at(-1)).toMatch(/^total,3,2,/);
    const refused = await app.inject({ url: `/api/quality?from=${new Date(T0).toISOString()}&to=${new Date(T0 - MINUTE).toISOString()}`, headers: bearer(auth.operatorToken) });
    expect(refused.json<{ error: { code: string; message: string } }>().error.message).toContain('"from" must be before "to"');
  });

  it('lists the rooms where the same fault keeps coming back', async () => {
    // The camera of sch-1 r101 returns after its ticket closed: a second ticket for the same room and code.
    const ticket = (await engine.store.list({ schoolId: 'sch-1' })).find((candidate) => candidate.code === 'DEVICE_MISSING');
    await engine.closeTicket(ticket?.id ?? '', 'user:admin');
    clock += 10 * MINUTE;
    const pc01 = messagesFrom({ schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' });
    for (const state of ['cleared', 'raised'] as const) {
      const result = await opened.store.ingest([accepted(pc01.fault(state, { at: new Date(clock).toISOString(), code: 'DEVICE_MISSING', deviceId: 'expected:usb:camera' }), new Date(clock))]);
      if (result.changed) engine.notify(result.changed);
      await engine.settle();
      clock += MINUTE;
    }
    expect((await report(`${period}&groupBy=school`)).repeatFaults).toEqual([{ schoolId: 'sch-1', roomId: 'r101', code: 'DEVICE_MISSING', tickets: 2 }]);
  });
});
