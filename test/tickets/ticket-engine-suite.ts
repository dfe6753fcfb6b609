import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { openStore } from '../../cloud/store/open-store.js';
import { agentKey, type Store } from '../../cloud/store/store.js';
import type { AgentMessage } from '../../protocol/index.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import type { ServiceDirectory, TeachingNow } from '../../cloud/tickets/service-directory.js';
import { DEFAULT_TICKET_POLICY } from '../../cloud/tickets/ticket-policy.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import { accepted, messagesFrom, T0 } from '../store/store-messages.js';
import { report } from '../transport/agent-messages.js';
import { faultMessage } from '../../agent/events.js';
import { faultsOf, measurementOf } from '../../agent/measure/measure-service.js';
import { summariseNetwork } from '../../agent/measure/network-summary.js';
import type { StoreTestTarget } from '../store/store-suite.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const at = (offsetMinutes: number): string => new Date(T0 + offsetMinutes * MIN).toISOString();

const PC01 = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const PC01_KEY = agentKey('sch-1', 'pc-01');

/** Routes sch-1 to team "east"; a room's teaching state is whatever the test sets. */
function directory(teaching: { now: TeachingNow | null }): ServiceDirectory {
  return {
    ...EMPTY_DIRECTORY,
    route: (schoolId) => (schoolId === 'sch-1' ? { regionId: 'shanghai-pudong', teamId: 'east' } : { regionId: null, teamId: null }),
    teaching: () => teaching.now,
  };
}

/**
 * The ticket engine over a real store, run against each dialect. The clock is the test's: every
 * rule with a time in it (hold, flap window, grace, reopen window) is checked on both sides of it.
 */
export function ticketEngineSuite(label: string, createTarget: () => Promise<StoreTestTarget>): void {
  describe(`ticket engine on ${label}`, () => {
    let target: StoreTestTarget;
    let store: Store;
    let engine: TicketEngine;
    let clock: number;
    const teaching: { now: TeachingNow | null } = { now: null };
    const pc01 = messagesFrom(PC01);

    beforeEach(async () => {
      target = await createTarget();
      store = await openStore(target.spec);
      await store.migrate();
      clock = T0;
      teaching.now = null;
      engine = new TicketEngine({ db: store.database, directory: directory(teaching), log: pino({ level: 'silent' }), now: () => clock });
    });

    afterEach(async () => {
      await engine.stop();
      await store.close();
      await target.cleanup();
    });

    /** As the collector does it: commit a batch, then tell the engine what changed. */
    async function deliver(...messages: AgentMessage[]): Promise<void> {
      const result = await store.ingest(messages.map((message) => accepted(message)));
      if (result.changed) engine.notify(result.changed);
      await engine.settle();
    }

    async function tickets() {
      return engine.store.list({});
    }

    it('opens one ticket for a raised fault, routed, with the domain category and severity, the device and a diagnostic bundle', async () => {
      clock = T0 + 2 * MIN;
      await deliver(
        pc01.inventory({ at: at(0) }),
        pc01.health({ at: at(0), cpuLoad: 12 }),
        pc01.measurement({ at: at(1), value: 40 }),
        pc01.fault('raised', { at: at(1), evidence: { expected: { kind: 'camera' }, logExcerpt: ['08:00:59 WARN usb: camera detached'] } }),
      );

      const [ticket, ...others] = await tickets();
      expect(others).toEqual([]);
      expect(ticket).toMatchObject({
        agentKey: PC01_KEY,
        code: 'DEVICE_MISSING',
        deviceId: 'expected:usb:camera',
        schoolId: 'sch-1',
        roomId: 'r101',
        status: 'open',
        category: 'hardware',
        severity: 'urgent',
        regionId: 'shanghai-pudong',
        teamId: 'east',
        occurrences: 1,
        firstOccurrenceAt: at(1),
        openedAt: at(2),
        title: 'Expected device missing in room r101',
      });
      expect(ticket?.description).toContain('front camera is missing');
      expect(ticket?.description).toContain('school sch-1, room r101, classroom PC pc-01');
      expect(ticket?.device).toMatchObject({ id: 'expected:usb:camera', kind: 'camera' });

      const detail = await engine.store.get(ticket?.id ?? '');
      expect(detail?.history.map((entry) => [entry.actor, entry.action, entry.toStatus])).toEqual([['agent', 'opened', 'open']]);
      const bundle = detail?.bundle as { inventory: unknown[]; recentHealth: Array<{ cpuLoadPercent: number }>; recentMeasurements: Array<{ value: number }>; fault: { code: string; messageKey?: string; params?: unknown }; logExcerpt: string[] };
      expect(bundle.logExcerpt).toEqual(['08:00:59 WARN usb: camera detached']);
      expect(bundle.inventory).toHaveLength(1);
      expect(bundle.recentHealth.map((point) => point.cpuLoadPercent)).toEqual([12]);
      expect(bundle.recentMeasurements.map((point) => point.value)).toEqual([40]);
      expect(bundle.fault.code).toBe('DEVICE_MISSING');
      // The code and the parameters, so the console can say it in the reader's language.
      expect(bundle.fault).toMatchObject({ messageKey: 'faults.DEVICE_MISSING.config', params: { label: 'front camera' } });
    });

    it("turns a network test's fault into a ticket of its own, with the test's result in the bundle", async () => {
      // As the agent makes them: the result of a lossy path, its measurement and the fault the tracker raised.
      const lossy = (lost: number) => ({
        durationMs: 20_000,
        audio: { packetsReceived: 1000 - lost, packetsLost: lost, bytesReceived: 80_000, jitterMs: 6 },
        video: { packetsReceived: 3000, packetsLost: 3 * lost, bytesReceived: 3_600_000, jitterMs: 12, framesDecoded: 560, width: 1280, height: 720, freezes: 3, freezeMs: 1200 },
      });
      const result = summariseNetwork({ reflectorId: 'local', sessionId: crypto.randomUUID(), durationMs: 20_000, down: lossy(60), up: lossy(20), rttMs: 45, rttSamples: 190, rttRtcpMs: 47, availableOutgoingKbps: 2400, throttle: null });
      const outcome = { status: 'done' as const, result, usage: { cpuMs: 9000, cpuPercent: 45, maxRssBytes: 210_000_000 }, wallMs: 26_000 };
      const [condition] = faultsOf('network', outcome).conditions;
      if (!condition) throw new Error('the lossy result raised no fault');
      const raisedAt = new Date(T0 + MIN);
      clock = T0 + 2 * MIN;
      await deliver(
        { ...measurementOf(PC01, 'network', 'room-ready', outcome, raisedAt), seq: 1 },
        { ...faultMessage(PC01, { state: 'raised', condition, category: 'network', severity: 'urgent', firstSeenAt: raisedAt, at: raisedAt }), seq: 2 },
      );
      const [ticket] = await tickets();
      expect(ticket).toMatchObject({ code: 'NETWORK_LOSS_HIGH', category: 'network', severity: 'urgent', deviceId: null, status: 'open' });
      expect(ticket?.description).toContain('Packet loss too high for live classes');
      const detail = await engine.store.get(ticket?.id ?? '');
      expect(detail?.bundle).toMatchObject({ fault: { message: expect.stringContaining('Packet loss 6.0% on the way down (limit 3%)') as string } });
      const bundle = detail?.bundle as { recentMeasurements: Array<{ name: string; value: number }>; fault: { evidence: { reflectorId: string } } };
      expect(bundle.recentMeasurements).toEqual([expect.objectContaining({ name: 'network', value: result.quality.mos })]);
      expect(bundle.fault.evidence.reflectorId).toBe('local');
    });

    it('keeps repeats of an open fault on the same ticket: a redelivery changes nothing, a new episode counts', async () => {
      const raise = pc01.fault('raised', { at: at(0) });
      await deliver(raise);
      await deliver(raise);
      await deliver(pc01.fault('raised', { at: at(1), message: 'still missing' }));
      expect((await tickets()).map((ticket) => ticket.occurrences)).toEqual([1]);

      // Cleared and back after the flap window, before the hold resolved anything: same ticket, occurrence 2.
      await deliver(pc01.fault('cleared', { at: at(2) }));
      await deliver(pc01.fault('raised', { at: at(20) }));
      const [ticket, ...others] = await tickets();
      expect(others).toEqual([]);
      expect(ticket).toMatchObject({ status: 'open', occurrences: 2, flaps: 0, lastOccurrenceAt: at(20), faultClearedAt: null });
    });

    it('counts a fault that clears and returns within the flap window as a flap on the same ticket, never resolving it', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      await deliver(pc01.fault('cleared', { at: at(1) }));
      clock = T0 + 4 * MIN;
      await engine.sweep();
      await deliver(pc01.fault('raised', { at: at(4) }));
      clock = T0 + 30 * MIN;
      await engine.sweep();
      const [ticket, ...others] = await tickets();
      expect(others).toEqual([]);
      expect(ticket).toMatchObject({ status: 'open', occurrences: 2, flaps: 1, resolvedAt: null });
    });

    it('resolves a ticket once its fault stays clear for the hold time, as verified by the agent', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      clock = T0 + 10 * MIN;
      await deliver(pc01.fault('cleared', { at: at(10) }));
      clock = T0 + 14 * MIN + 59_000;
      await engine.sweep();
      expect((await tickets())[0]?.status).toBe('open');

      clock = T0 + 15 * MIN;
      await engine.sweep();
      const [ticket] = await tickets();
      expect(ticket).toMatchObject({ status: 'resolved', resolvedAt: at(15) });
      expect(ticket?.resolution).toMatchObject({ verifiedBy: 'agent', by: 'agent', minutesToRestore: 10 });
      expect(ticket?.resolution?.note).toContain('stayed clear for 5 min');
      const history = (await engine.store.get(ticket?.id ?? ''))?.history.map((entry) => entry.action);
      expect(history).toEqual(['opened', 'fault-cleared', 'resolved']);
    });

    it('reopens a resolved ticket when its fault returns within 24 h, and opens a new one after', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      await deliver(pc01.fault('cleared', { at: at(1) }));
      clock = T0 + 10 * MIN;
      await engine.sweep();
      clock = T0 + 3 * HOUR;
      await deliver(pc01.fault('raised', { at: at(180) }));
      const reopened = await tickets();
      expect(reopened).toHaveLength(1);
      expect(reopened[0]).toMatchObject({ status: 'open', reopens: 1, occurrences: 2, resolvedAt: null, resolution: null });

      // Resolved again; 24 h without the fault closes it, and the next occurrence is a new ticket.
      await deliver(pc01.fault('cleared', { at: at(181) }));
      clock = T0 + 190 * MIN;
      await engine.sweep();
      clock = T0 + 190 * MIN + 24 * HOUR;
      await engine.sweep();
      expect(await tickets()).toMatchObject([{ status: 'closed', closedAt: new Date(clock).toISOString() }]);

      await deliver(pc01.fault('raised', { at: new Date(clock + MIN).toISOString() }));
      const all = await tickets();
      expect(all.map((t) => t.status).sort()).toEqual(['closed', 'open']);
    });

    it('opens an offline ticket only after the grace period, and resolves it when the agent is back', async () => {
      await deliver(pc01.status('online', { at: at(0) }), pc01.status('offline', { at: at(1), reason: 'last will' }));
      clock = T0 + 2 * MIN + 59_000;
      await engine.sweep();
      expect(await tickets()).toEqual([]);

      clock = T0 + 3 * MIN;
      await engine.sweep();
      const [ticket] = await tickets();
      expect(ticket).toMatchObject({ code: 'AGENT_OFFLINE', status: 'open', category: 'network', firstOccurrenceAt: at(1), teamId: 'east' });
      expect(ticket?.description).toContain('last will');

      clock = T0 + 10 * MIN;
      await deliver(pc01.status('online', { at: at(10) }));
      const [back] = await tickets();
      expect(back).toMatchObject({ status: 'resolved', resolution: { verifiedBy: 'agent', note: 'The agent is reporting again.' } });
    });

    it('raises severity for a fault during a lesson or shortly before one', async () => {
      teaching.now = { inLesson: true, minutesToNextLesson: null };
      await deliver(pc01.fault('raised', { at: at(0), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} }));
      teaching.now = { inLesson: false, minutesToNextLesson: 20 };
      // Three schools, so that the school-incident rule (many rooms of one school) stays out of it.
      await deliver(messagesFrom({ schoolId: 'sch-2', roomId: 'r102', agentId: 'pc-02' }).fault('raised', { at: at(0), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} }));
      teaching.now = { inLesson: false, minutesToNextLesson: 45 };
      await deliver(messagesFrom({ schoolId: 'sch-3', roomId: 'r103', agentId: 'pc-03' }).fault('raised', { at: at(0), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} }));

      const byRoom = Object.fromEntries((await tickets()).map((ticket) => [ticket.roomId, ticket]));
      expect(byRoom.r101?.severity).toBe('urgent');
      expect(byRoom.r101?.severityReasons).toEqual(['general: the fault\'s level', 'urgent: a lesson is under way']);
      expect(byRoom.r102?.severity).toBe('urgent');
      expect(byRoom.r102?.severityReasons[1]).toBe('urgent: the next lesson starts in 20 min');
      expect(byRoom.r103?.severity).toBe('general');
    });

    it('raises a VR headset low on battery 75 min before a lesson (time to charge), where other faults wait for the last 30 min', async () => {
      teaching.now = { inLesson: false, minutesToNextLesson: 75 };
      await deliver(pc01.fault('raised', { at: at(0), code: 'VR_BATTERY_LOW', deviceId: 'adb:2G0YC5ZF8B0K4S', evidence: { battery: { level: 22 } } }));
      await deliver(messagesFrom({ schoolId: 'sch-2', roomId: 'r102', agentId: 'pc-02' }).fault('raised', { at: at(0), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} }));
      const byRoom = Object.fromEntries((await tickets()).map((ticket) => [ticket.roomId, ticket]));
      expect(byRoom.r101).toMatchObject({ code: 'VR_BATTERY_LOW', severity: 'urgent', severityReasons: ["general: the fault's level", 'urgent: the next lesson starts in 75 min'] });
      expect(byRoom.r102?.severity).toBe('general');
      teaching.now = { inLesson: false, minutesToNextLesson: 120 };
      await deliver(messagesFrom({ schoolId: 'sch-3', roomId: 'r103', agentId: 'pc-03' }).fault('raised', { at: at(0), code: 'VR_BATTERY_LOW', deviceId: 'adb:2G0YC5ZF8B0K4T', evidence: {} }));
      expect((await tickets()).find((ticket) => ticket.roomId === 'r103')?.severity).toBe('general');
    });

    it('makes a ticket critical when the room can no longer teach: no camera and no microphone', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      await deliver(pc01.fault('raised', { at: at(1), code: 'MICROPHONE_NO_CAPTURE', deviceId: 'usb:mic', evidence: {} }));
      const byCode = Object.fromEntries((await tickets()).map((ticket) => [ticket.code, ticket]));
      expect(byCode.DEVICE_MISSING?.severity).toBe('urgent');
      expect(byCode.MICROPHONE_NO_CAPTURE?.severity).toBe('critical');
      expect(byCode.MICROPHONE_NO_CAPTURE?.severityReasons).toContain('critical: the room cannot teach (lost: camera, microphone)');
    });

    it('makes every recent ticket of a school critical when many of its rooms are hit at once', async () => {
      for (const [index, room] of ['r101', 'r102', 'r103'].entries()) {
        clock = T0 + index * MIN;
        await deliver(messagesFrom({ ...PC01, roomId: room, agentId: `pc-${room}` }).fault('raised', { at: at(index), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} }));
      }
      const all = await tickets();
      expect(all.map((ticket) => ticket.severity)).toEqual(['critical', 'critical', 'critical']);
      const first = all.find((ticket) => ticket.roomId === 'r101');
      const history = (await engine.store.get(first?.id ?? ''))?.history.map((entry) => entry.action);
      expect(history).toEqual(['opened', 'severity-raised']);
    });

    it('opens the tickets of a storm over several schools in one follow-up, each once, every one critical by the school-incident rule (exactly its 3 rooms each), none failing', async () => {
      const failures: string[] = [];
      const logged = new TicketEngine({
        db: store.database,
        directory: directory(teaching),
        // Every error the engine logs (a deadlock, a refused insert) would be a subject left for the sweep.
        log: pino({ level: 'error' }, { write: (line: string) => void failures.push(line) }),
        now: () => clock,
      });
      const messages = ['sch-1', 'sch-2', 'sch-3'].flatMap((schoolId) =>
        Array.from({ length: 3 }, (_, index) => messagesFrom({ schoolId, roomId: `r${101 + index}`, agentId: `pc-${index}` }).fault('raised', { at: at(0), code: 'MICROPHONE_MUTED', deviceId: 'usb:mic', evidence: {} })),
      );
      const result = await store.ingest(messages.map((message) => accepted(message)));
      if (result.changed) logged.notify(result.changed);
      await logged.settle();
      await logged.stop();
      expect(failures).toEqual([]);
      const all = await tickets();
      expect(all).toHaveLength(9);
      expect(new Set(all.map((ticket) => ticket.agentKey)).size).toBe(9);
      expect(all.every((ticket) => ticket.severity === 'critical')).toBe(true);
    });

    it('catches up in the sweep on faults whose batch was committed but never followed up (a crash in between)', async () => {
      await store.ingest([accepted(pc01.fault('raised', { at: at(0) }))]);
      expect(await tickets()).toEqual([]);
      await engine.sweep();
      expect((await tickets()).map((ticket) => ticket.code)).toEqual(['DEVICE_MISSING']);
      await engine.sweep();
      expect(await tickets()).toHaveLength(1);
    });

    it('ignores a late clear of an older episode', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      await deliver(pc01.fault('cleared', { at: at(1) }));
      await deliver(pc01.fault('raised', { at: at(30) }));
      // Delivered late: a clear stamped before the current episode's raise.
      await deliver(pc01.fault('cleared', { at: at(2) }));
      const [ticket] = await tickets();
      expect(ticket).toMatchObject({ status: 'open', faultClearedAt: null, occurrences: 2 });
    });

    it('moves through acknowledged, in progress and resolved by hand, records who and when, and takes a rating', async () => {
      await deliver(pc01.fault('raised', { at: at(0) }));
      const [opened] = await tickets();
      const id = opened?.id ?? '';
      clock = T0 + 30 * MIN;
      await engine.acknowledge(id, 'engineer-wang');
      clock = T0 + 40 * MIN;
      await engine.startWork(id, 'engineer-wang');
      await expect(engine.acknowledge(id, 'engineer-li')).rejects.toMatchObject({ code: 'TICKET_STATE_CONFLICT' });
      clock = T0 + 90 * MIN;
      await engine.resolve(id, 'engineer-wang', { note: 'replaced the USB cable', cause: 'cable worn', actions: 'new cable' });
      await engine.rate(id, 'school:admin', { score: 5, comment: 'fast' });
      await expect(engine.rate('TK-00000000', 'x', { score: 3 })).rejects.toMatchObject({ code: 'TICKET_NOT_FOUND' });

      const detail = await engine.store.get(id);
      expect(detail?.ticket).toMatchObject({
        status: 'resolved',
        acknowledgedAt: at(30),
        firstResponseAt: at(30),
        resolvedAt: at(90),
        resolution: { by: 'engineer-wang', verifiedBy: 'engineer', cause: 'cable worn', note: 'replaced the USB cable', minutesToRestore: 90 },
        rating: { by: 'school:admin', score: 5, comment: 'fast' },
      });
      expect(detail?.history.map((entry) => [entry.actor, entry.action, entry.fromStatus, entry.toStatus, entry.at])).toEqual([
        ['agent', 'opened', null, 'open', at(0)],
        ['engineer-wang', 'acknowledged', 'open', 'acknowledged', at(30)],
        ['engineer-wang', 'started', 'acknowledged', 'in_progress', at(40)],
        ['engineer-wang', 'resolved', 'in_progress', 'resolved', at(90)],
        ['school:admin', 'rated', null, null, at(90)],
      ]);
      // The resolution is knowledge for readers of its school, not for readers of another.
      expect((await engine.knowledge('DEVICE_MISSING', 5, [opened?.schoolId ?? ''])).pastResolutions.map((past) => past.ticketId)).toEqual([id]);
      expect((await engine.knowledge('DEVICE_MISSING', 5, ['another-school'])).pastResolutions).toEqual([]);
      expect((await engine.knowledge('DEVICE_MISSING', 5)).pastResolutions).toHaveLength(1);
    });

    it('opens exactly one ticket when two engines (two collectors) reconcile the same fault at once', async () => {
      const second = await openStore(target.spec);
      const otherEngine = new TicketEngine({ db: second.database, directory: directory(teaching), log: pino({ level: 'silent' }), now: () => clock });
      try {
        await store.ingest([accepted(pc01.fault('raised', { at: at(0) }))]);
        const key = { agentKey: PC01_KEY, code: 'DEVICE_MISSING', deviceKey: JSON.stringify('expected:usb:camera') };
        await Promise.all([engine.reconcileFault(key), otherEngine.reconcileFault(key), engine.sweep(), otherEngine.sweep()]);
        expect(await tickets()).toHaveLength(1);
      } finally {
        await otherEngine.stop();
        await second.close();
      }
    });

    it('raises each SLA escalation once: the first response near breach at 80 %, then breached', async () => {
      const terms = EMPTY_DIRECTORY.terms('sch-1');
      const calendarClock: ServiceDirectory = { ...directory(teaching), terms: () => ({ ...terms, sla: { ...terms.sla, clock: 'calendar' } }) };
      const slaEngine = new TicketEngine({ db: store.database, directory: calendarClock, log: pino({ level: 'silent' }), now: () => clock });
      const result = await store.ingest([accepted(pc01.fault('raised', { at: at(0) }))]);
      if (result.changed) slaEngine.notify(result.changed);
      await slaEngine.settle();
      const [ticket] = await slaEngine.list();
      expect(ticket?.sla.firstResponse).toMatchObject({ state: 'running', targetMs: 2 * HOUR, dueAt: new Date(T0 + 2 * HOUR) });
      expect(ticket?.sla.resolution).toMatchObject({ state: 'running', targetMs: 8 * HOUR });

      const escalations = async () => ((await slaEngine.get(ticket?.id ?? ''))?.history ?? []).filter((entry) => entry.action === 'escalated').map((entry) => entry.detail);
      clock = T0 + 95 * MIN;
      await slaEngine.sweep();
      expect(await escalations()).toEqual([]);
      clock = T0 + 97 * MIN;
      await slaEngine.sweep();
      await slaEngine.sweep();
      expect(await escalations()).toEqual([expect.objectContaining({ timer: 'first-response', kind: 'near-breach', teamId: 'east' })]);
      clock = T0 + 121 * MIN;
      await slaEngine.sweep();
      expect((await escalations()).map((detail) => `${String(detail.timer)}:${String(detail.kind)}`)).toEqual(['first-response:near-breach', 'first-response:breach']);
      expect((await slaEngine.list())[0]?.sla.firstResponse.state).toBe('breached');

      // Acknowledged late: the timer is missed, and nothing more is raised for it.
      await slaEngine.acknowledge(ticket?.id ?? '', 'engineer-wang');
      // An engineer must go: the on-site timer runs from the request, 72 h to a school outside the team's city.
      await slaEngine.requestOnSite(ticket?.id ?? '', 'engineer-wang');
      await expect(slaEngine.requestOnSite(ticket?.id ?? '', 'engineer-wang')).rejects.toMatchObject({ code: 'TICKET_STATE_CONFLICT' });
      expect((await slaEngine.list())[0]?.sla.onSite).toMatchObject({ name: 'on-site', state: 'running', targetMs: 72 * HOUR, dueAt: new Date(clock + 72 * HOUR) });
      clock += 20 * HOUR;
      await slaEngine.arriveOnSite(ticket?.id ?? '', 'engineer-wang');
      expect((await slaEngine.list())[0]?.sla.onSite?.state).toBe('met');
      clock = T0 + 121 * MIN;
      clock = T0 + 200 * MIN;
      await slaEngine.sweep();
      expect(await escalations()).toHaveLength(2);
      expect((await slaEngine.list())[0]?.sla.firstResponse.state).toBe('missed');
      await slaEngine.stop();
    });

    it('queues every ticket change for the webhooks that want it, in the transaction that made it', async () => {
      const endpoint = { id: 'zammad', url: 'https://helpdesk.example.com/hook', secret: '0123456789abcdef0123', events: ['ticket.opened', 'ticket.resolved'], enabled: true };
      const withHooks: ServiceDirectory = { ...directory(teaching), webhooks: () => [endpoint] };
      const hookEngine = new TicketEngine({ db: store.database, directory: withHooks, log: pino({ level: 'silent' }), now: () => clock });
      const raised = await store.ingest([accepted(pc01.fault('raised', { at: at(0) }))]);
      if (raised.changed) hookEngine.notify(raised.changed);
      await hookEngine.settle();
      const cleared = await store.ingest([accepted(pc01.fault('cleared', { at: at(1) }))]);
      if (cleared.changed) hookEngine.notify(cleared.changed);
      await hookEngine.settle();
      clock = T0 + 10 * MIN;
      await hookEngine.sweep();

      const queued = await hookEngine.webhookQueue.claimDue(new Date(clock), 10);
      expect(queued.map((delivery) => [delivery.endpointId, delivery.eventType])).toEqual([['zammad', 'ticket.opened']]);
      const body = JSON.parse(queued[0]?.body ?? '{}') as { type: string; ticket: { status: string; code: string }; change: { to: string } };
      expect(body).toMatchObject({ type: 'ticket.opened', ticket: { status: 'open', code: 'DEVICE_MISSING' }, change: { to: 'open' } });
      // In order per endpoint: "resolved" waits until "opened" is delivered.
      await hookEngine.webhookQueue.markDelivered(queued[0]?.id ?? '', new Date(clock), 200);
      const next = await hookEngine.webhookQueue.claimDue(new Date(clock), 10);
      expect(next.map((delivery) => delivery.eventType)).toEqual(['ticket.resolved']);
      expect(await hookEngine.webhookQueue.counts()).toEqual({ pending: 1, delivered: 1, 'given-up': 0 });
      await hookEngine.stop();
    });

    it("opens a ticket of its own for each teacher's report, with the teacher's words and the agent's bundle", async () => {
      const first = { ...report('the projector flickers'), at: at(0), reporter: 'teacher-li', deviceId: 'usb:046d:085e:1-1.4' };
      const second = { ...report('no sound from the speakers'), at: at(1) };
      await deliver(pc01.status('online', { at: at(0) }), first, second);
      await deliver(first);
      const all = await tickets();
      expect(all.map((ticket) => [ticket.code, ticket.category, ticket.status, ticket.title]).sort()).toEqual([
        ['TEACHER_REPORT', 'operation', 'open', 'Room r101: no sound from the speakers'],
        ['TEACHER_REPORT', 'operation', 'open', 'Room r101: the projector flickers'],
      ]);
      const flicker = all.find((ticket) => ticket.title.includes('flickers'));
      expect(flicker?.description).toContain('Reported from the classroom: "the projector flickers"');
      expect(flicker?.description).toContain('By teacher-li');
      const detail = await engine.store.get(flicker?.id ?? '');
      expect(detail?.history.map((entry) => `${entry.actor}:${entry.action}`)).toEqual(['teacher:opened']);
      expect(detail?.bundle).toMatchObject({ report: { text: 'the projector flickers', reporter: 'teacher-li' }, agentBundle: { faultsFrom: 'probe' } });
      // A report whose follow-up was lost (a crash) gets its ticket in the sweep.
      await store.ingest([accepted({ ...report('camera is black'), at: at(2) })]);
      await engine.sweep();
      expect(await tickets()).toHaveLength(3);
    });

    it('uses the default policy of the issue', () => {
      expect(DEFAULT_TICKET_POLICY).toMatchObject({ offlineGraceMinutes: 2, flapWindowMinutes: 10, holdMinutes: 5, reopenWindowHours: 24, lessonLeadMinutes: 30, chargeLeadMinutes: 90 });
    });
  });
}
