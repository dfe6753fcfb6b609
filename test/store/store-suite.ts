import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../cloud/store/migrations.js';
import { openStore } from '../../cloud/store/open-store.js';
import { SqlStore } from '../../cloud/store/sql-store.js';
import { agentKey, type AcceptedEvent, type Store } from '../../cloud/store/store.js';
import { projector, usbDevice } from '../helpers/device-factory.js';
import { accepted, messagesFrom, minutes, T0 } from './store-messages.js';

/** A database for one test: a spec for openStore() that several stores may open at once. */
export interface StoreTestTarget {
  spec: string;
  cleanup(): Promise<void>;
}

const PC01 = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const PC01_KEY = agentKey('sch-1', 'pc-01');
const HOUR = 3_600_000;
/** A batch of health samples changes no fault and no agent's status: the ticket engine has nothing to do. */
const NOTHING_FOLLOWS = { faults: [], agents: [], reports: [] };
const DAY = 24 * HOUR;

/**
 * Strings an attacker controls (fault messages, device ids, evidence, status reasons): SQL
 * metacharacters, placeholders of both dialects, NUL (which PostgreSQL text cannot hold), a lone
 * surrogate (which UTF-8 cannot hold), and line breaks.
 */
const HOSTILE = `x'); DROP TABLE events; -- " $1 ?1 :a @b \\ %_ \u0000 \uD800 😀 \r\n\t`;
const HOSTILE_DEVICE_ID = `usb:'||(SELECT 1)||'\u0000"; DELETE FROM agents; --`;

/**
 * The one store suite, run against each dialect (MQTT.js style: one suite re-run per backend).
 * Every expectation is an exact value, so passing on both dialects means both return the same.
 */
export function storeSuite(label: string, createTarget: () => Promise<StoreTestTarget>): void {
  describe(`${label} store`, () => {
    let target: StoreTestTarget;
    const opened: Store[] = [];

    async function open(): Promise<Store> {
      const store = await openStore(target.spec);
      opened.push(store);
      return store;
    }

    async function migrated(): Promise<Store> {
      const store = await open();
      await store.migrate();
      return store;
    }

    beforeEach(async () => {
      target = await createTarget();
    });

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await target.cleanup();
    });

    it('stores every message kind once and reads them back in sequence order, statuses last', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const status = from.status('online', { at: minutes(0) });
      const inventory = from.inventory({ at: minutes(1), seq: 1 });
      const health = from.health({ at: minutes(2), seq: 2 });
      const fault = from.fault('raised', { at: minutes(3), seq: 3 });
      const measurement = from.measurement({ at: minutes(4), seq: 4 });
      // Delivered out of order, as after a reconnect.
      const result = await store.ingest([measurement, status, health, fault, inventory].map((message) => accepted(message)));

      // What changed is what the ticket engine follows up: the fault, and the agent that sent a status.
      expect(result).toEqual({ stored: 5, duplicates: 0, changed: { faults: [{ agentKey: PC01_KEY, code: 'DEVICE_MISSING', deviceKey: '"expected:usb:camera"' }], agents: [PC01_KEY], reports: [] } });
      expect(await store.countEvents()).toBe(5);
      const events = await store.events(PC01_KEY);
      expect(events.map((event) => event.eventId)).toEqual([inventory, health, fault, measurement, status].map((message) => message.eventId));
      expect(events[1]).toEqual({
        eventId: health.eventId,
        agentKey: PC01_KEY,
        seq: 2,
        type: 'health',
        at: minutes(2),
        receivedAt: new Date(Date.parse(minutes(2)) + 1000).toISOString(),
        message: health,
      });
      expect((await store.events(PC01_KEY, { type: 'fault' })).map((event) => event.message)).toEqual([fault]);
      expect((await store.events(PC01_KEY, { limit: 2 })).map((event) => event.seq)).toEqual([1, 2]);
      expect(await store.events(agentKey('sch-1', 'someone-else'))).toEqual([]);
    });

    it('counts duplicates inside one batch and across batches, and a replayed batch changes nothing', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const [h1, h2, h3] = [1, 2, 3].map((seq) => from.health({ at: minutes(seq), seq, cpuLoad: seq * 10 })) as [ReturnType<typeof from.health>, ReturnType<typeof from.health>, ReturnType<typeof from.health>];

      expect(await store.ingest([accepted(h1), accepted(h1), accepted(h2)])).toEqual({ stored: 2, duplicates: 1, changed: NOTHING_FOLLOWS });
      expect(await store.ingest([accepted(h2), accepted(h3)])).toEqual({ stored: 1, duplicates: 1, changed: NOTHING_FOLLOWS });
      const before = await store.getAgent(PC01_KEY, { healthSince: new Date(T0) });

      expect(await store.ingest([accepted(h1), accepted(h2), accepted(h3)])).toEqual({ stored: 0, duplicates: 3, changed: NOTHING_FOLLOWS });
      expect(await store.getAgent(PC01_KEY, { healthSince: new Date(T0) })).toEqual(before);
      expect(before?.recentHealth.map((point) => point.cpuLoadPercent)).toEqual([10, 20, 30]);
      expect(await store.countEvents()).toBe(3);
      expect(await store.ingest([])).toEqual({ stored: 0, duplicates: 0 });
    });

    it('a late offline status does not turn a newer online back, in one batch or across batches', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const online = from.status('online', { at: minutes(10), agentVersion: '0.2.0' });
      const staleOffline = from.status('offline', { at: minutes(5), reason: 'connection lost' });

      await store.ingest([accepted(online), accepted(staleOffline)]);
      expect(await store.getAgent(PC01_KEY)).toMatchObject({ state: 'online', stateReason: null, stateChangedAt: minutes(10), agentVersion: '0.2.0' });
      await store.ingest([accepted(from.status('offline', { at: minutes(6), reason: 'connection lost' }))]);
      expect((await store.getAgent(PC01_KEY))?.state).toBe('online');

      await store.ingest([accepted(from.status('offline', { at: minutes(20), reason: 'stopped' }))]);
      expect(await store.getAgent(PC01_KEY)).toMatchObject({ state: 'offline', stateReason: 'stopped', stateChangedAt: minutes(20) });
    });

    it('a last will stamped with the time of its connection\'s online status still marks the agent offline', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const connectedAt = minutes(30);
      await store.ingest([accepted(from.status('online', { at: connectedAt }))]);
      await store.ingest([accepted(from.status('offline', { at: connectedAt, reason: 'connection lost' }))]);
      expect(await store.getAgent(PC01_KEY)).toMatchObject({ state: 'offline', stateReason: 'connection lost', stateChangedAt: connectedAt });
    });

    it('an agent is unknown until its first status, last seen at its newest message, in the room of its newest message', async () => {
      const store = await migrated();
      await store.ingest([accepted(messagesFrom(PC01).health({ at: minutes(5), seq: 1 }))]);
      await store.ingest([accepted(messagesFrom({ ...PC01, roomId: 'r102' }).health({ at: minutes(3), seq: 2 }))]);
      expect(await store.listAgents()).toEqual([
        {
          id: PC01_KEY,
          agentId: 'pc-01',
          schoolId: 'sch-1',
          roomId: 'r101',
          state: 'unknown',
          stateReason: null,
          stateChangedAt: null,
          lastSeenAt: minutes(5),
          agentVersion: null,
          deviceCount: 0,
          openFaultCount: 0,
          worstSeverity: null,
          lastNetwork: null,
          lastAvSync: null,
        },
      ]);
      await store.ingest([accepted(messagesFrom({ ...PC01, roomId: 'r202' }).measurement({ at: minutes(7), seq: 3 }))]);
      expect(await store.getAgent(PC01_KEY)).toMatchObject({ roomId: 'r202', lastSeenAt: minutes(7) });
    });

    it('a newer inventory replaces the devices and an older one is ignored', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const camera = usbDevice();
      const beamer = projector();
      await store.ingest([accepted(from.inventory({ at: minutes(5), seq: 1, devices: [camera] }))]);
      await store.ingest([accepted(from.inventory({ at: minutes(10), seq: 2, devices: [camera, beamer] }))]);
      await store.ingest([accepted(from.inventory({ at: minutes(7), seq: 3, devices: [] }))]);

      const agent = await store.getAgent(PC01_KEY);
      expect(agent?.devices).toEqual([camera, beamer]);
      expect(agent).toMatchObject({ deviceCount: 2, inventoryAt: minutes(10) });
    });

    it('keeps the newest system snapshot, every raw health point with its outbox stats, and only recent points by default', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const outbox = { pending: 12, droppedHealth: 3, droppedOther: 0, droppedFaults: 0 };
      const newer = from.health({ at: minutes(3), seq: 2, cpuLoad: 30, cpuTemperature: 50, diskUse: 75, outbox });
      const older = from.health({ at: minutes(1), seq: 1, cpuLoad: 10 });
      await store.ingest([accepted(newer), accepted(older)]);

      const agent = await store.getAgent(PC01_KEY, { healthSince: new Date(T0) });
      expect(agent?.system).toEqual(newer.system);
      expect(agent?.recentHealth).toEqual([
        { at: minutes(1), resolution: 'raw', cpuLoadPercent: 10, memoryAvailableBytes: 4e9, diskUsePercentMax: 40, cpuTemperatureC: null },
        { at: minutes(3), resolution: 'raw', cpuLoadPercent: 30, memoryAvailableBytes: 4e9, diskUsePercentMax: 75, cpuTemperatureC: 50, outbox },
      ]);
      expect((await store.getAgent(PC01_KEY, { healthSince: new Date(Date.parse(minutes(2))) }))?.recentHealth).toHaveLength(1);

      const now = Date.now();
      await store.ingest([
        accepted(from.health({ at: new Date(now - 25 * HOUR).toISOString(), seq: 3 })),
        accepted(from.health({ at: new Date(now - HOUR).toISOString(), seq: 4, cpuLoad: 44 })),
      ]);
      expect((await store.getAgent(PC01_KEY))?.recentHealth.map((point) => point.cpuLoadPercent)).toEqual([44]);
    });

    it('opens a fault once, updates it in place, closes it with a newer clear and reopens it as a new episode', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const raise = from.fault('raised', { at: minutes(1), seq: 1, firstSeenAt: minutes(0) });
      await store.ingest([accepted(raise)]);
      const opened = {
        code: 'DEVICE_MISSING',
        deviceId: 'expected:usb:camera',
        category: 'hardware',
        severity: 'urgent',
        message: 'front camera is missing',
        // The console renders these in the reader's language.
        messageKey: 'faults.DEVICE_MISSING.config',
        params: { label: 'front camera' },
        evidence: { expected: { kind: 'camera' } },
        firstSeenAt: minutes(0),
        raisedAt: minutes(1),
        eventId: raise.eventId,
      };
      expect((await store.getAgent(PC01_KEY))?.openFaults).toEqual([opened]);

      await store.ingest([accepted(from.fault('raised', { at: minutes(2), seq: 2, firstSeenAt: minutes(2), severity: 'critical', message: 'still missing', evidence: { cycles: 2 } }))]);
      expect((await store.getAgent(PC01_KEY))?.openFaults).toEqual([{ ...opened, severity: 'critical', message: 'still missing', evidence: { cycles: 2 } }]);
      expect((await store.listAgents())[0]?.openFaultCount).toBe(1);

      await store.ingest([accepted(from.fault('cleared', { at: minutes(3), seq: 3 }))]);
      expect((await store.getAgent(PC01_KEY))?.openFaults).toEqual([]);
      expect((await store.listAgents())[0]?.openFaultCount).toBe(0);

      const reopen = from.fault('raised', { at: minutes(4), seq: 4 });
      await store.ingest([accepted(reopen)]);
      expect((await store.getAgent(PC01_KEY))?.openFaults).toEqual([{ ...opened, firstSeenAt: minutes(4), raisedAt: minutes(4), eventId: reopen.eventId }]);
    });

    it('a late clear older than the raise, or a late raise older than the clear, changes nothing', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      await store.ingest([accepted(from.fault('raised', { at: minutes(10), seq: 2 }))]);
      await store.ingest([accepted(from.fault('cleared', { at: minutes(5), seq: 1 }))]);
      expect((await store.getAgent(PC01_KEY))?.openFaults).toHaveLength(1);

      const other = { code: 'MICROPHONE_MUTED', deviceId: 'usb:mic' } as const;
      await store.ingest([accepted(from.fault('cleared', { ...other, at: minutes(20), seq: 4 }))]);
      await store.ingest([accepted(from.fault('raised', { ...other, at: minutes(15), seq: 3 }))]);
      expect((await store.getAgent(PC01_KEY))?.openFaults.map((fault) => fault.code)).toEqual(['DEVICE_MISSING']);
    });

    it('applies the faults of one batch in time order and keeps faults of different devices apart', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const reopen = from.fault('raised', { at: minutes(3), seq: 3 });
      const pcFault = from.fault('raised', { at: minutes(1), seq: 4, code: 'DISK_NEARLY_FULL', deviceId: null, message: 'disk / is 97 % full' });
      const otherDevice = from.fault('raised', { at: minutes(2), seq: 5, deviceId: 'expected:usb:microphone' });
      await store.ingest([reopen, from.fault('cleared', { at: minutes(2), seq: 2 }), from.fault('raised', { at: minutes(1), seq: 1 }), pcFault, otherDevice].map((message) => accepted(message)));

      const faults = (await store.getAgent(PC01_KEY))?.openFaults;
      expect(faults?.map((fault) => [fault.code, fault.deviceId, fault.raisedAt, fault.eventId])).toEqual([
        ['DISK_NEARLY_FULL', null, minutes(1), pcFault.eventId],
        ['DEVICE_MISSING', 'expected:usb:microphone', minutes(2), otherDevice.eventId],
        ['DEVICE_MISSING', 'expected:usb:camera', minutes(3), reopen.eventId],
      ]);
    });

    it('lists agents by school and state, sorted by id, and finds no agent for an unknown or hostile id', async () => {
      const store = await migrated();
      await store.ingest([
        accepted(messagesFrom({ schoolId: 'sch-2', roomId: 'r1', agentId: 'pc-01' }).health({ at: minutes(1), seq: 1 })),
        accepted(messagesFrom({ schoolId: 'sch-1', roomId: 'r1', agentId: 'pc-02' }).status('offline', { at: minutes(2), reason: 'stopped' })),
        accepted(messagesFrom(PC01).status('online', { at: minutes(3) })),
      ]);
      const ids = async (filter?: Parameters<Store['listAgents']>[0]) => (await store.listAgents(filter)).map((agent) => agent.id);
      expect(await ids()).toEqual(['sch-1:pc-01', 'sch-1:pc-02', 'sch-2:pc-01']);
      expect(await ids({ schoolId: 'sch-1' })).toEqual(['sch-1:pc-01', 'sch-1:pc-02']);
      expect(await ids({ state: 'offline' })).toEqual(['sch-1:pc-02']);
      expect(await ids({ schoolId: 'sch-2', state: 'unknown' })).toEqual(['sch-2:pc-01']);
      expect(await ids({ schoolId: "sch-1' OR '1'='1" })).toEqual([]);
      expect(await store.getAgent(agentKey('sch-9', 'pc-01'))).toBeNull();
      expect(await store.getAgent(`sch-1:pc-01' OR '1'='1`)).toBeNull();
    });

    it('stores hostile strings verbatim and returns them intact', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const fault = from.fault('raised', { at: minutes(1), seq: 1, message: HOSTILE, deviceId: HOSTILE_DEVICE_ID, evidence: { [HOSTILE]: HOSTILE, nested: [HOSTILE] } });
      const inventory = from.inventory({ at: minutes(2), seq: 2, devices: [usbDevice({ id: HOSTILE_DEVICE_ID, name: HOSTILE })] });
      const status = from.status('offline', { at: minutes(3), reason: HOSTILE, agentVersion: HOSTILE });
      expect(await store.ingest([fault, inventory, status].map((message) => accepted(message)))).toEqual({
        stored: 3,
        duplicates: 0,
        changed: { faults: [{ agentKey: PC01_KEY, code: 'DEVICE_MISSING', deviceKey: JSON.stringify(HOSTILE_DEVICE_ID) }], agents: [PC01_KEY], reports: [] },
      });

      const agent = await store.getAgent(PC01_KEY);
      expect(agent).toMatchObject({ stateReason: HOSTILE, agentVersion: HOSTILE });
      expect(agent?.devices).toEqual(inventory.devices);
      expect(agent?.openFaults).toMatchObject([{ message: HOSTILE, deviceId: HOSTILE_DEVICE_ID, evidence: { [HOSTILE]: HOSTILE, nested: [HOSTILE] } }]);
      expect((await store.events(PC01_KEY)).map((event) => event.message)).toEqual([fault, inventory, status]);

      await store.ingest([accepted(from.fault('cleared', { at: minutes(4), seq: 3, deviceId: HOSTILE_DEVICE_ID }))]);
      expect((await store.getAgent(PC01_KEY))?.openFaults).toEqual([]);
    });

    it('prunes by a fixed clock: folds old raw health into hourly averages, drops old hours and events, keeps open faults\' events', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      const policy = { rawHealthDays: 7, hourlyHealthDays: 30, eventDays: 3 };
      const now = new Date(T0 + 10 * DAY);
      const hourStart = T0 + HOUR;
      const at = (ms: number) => new Date(ms).toISOString();
      const oldHealth = [
        from.health({ at: at(hourStart), seq: 1, cpuLoad: 10, memoryAvailable: 1e9, diskUse: 40, cpuTemperature: null }),
        from.health({ at: at(hourStart + 20 * 60_000), seq: 2, cpuLoad: 20, memoryAvailable: 2e9, diskUse: 50, cpuTemperature: 40 }),
        from.health({ at: at(hourStart + 40 * 60_000), seq: 3, cpuLoad: 60, memoryAvailable: 3e9, diskUse: 60, cpuTemperature: 60 }),
      ];
      const openRaise = from.fault('raised', { at: minutes(0), seq: 4 });
      const closedRaise = from.fault('raised', { at: minutes(1), seq: 5, deviceId: 'usb:mic' });
      const closedClear = from.fault('cleared', { at: minutes(2), seq: 6, deviceId: 'usb:mic' });
      const oldOthers = [openRaise, closedRaise, closedClear, from.inventory({ at: minutes(3), seq: 7 }), from.measurement({ at: minutes(4), seq: 8 })];
      const recentHealth = from.health({ at: at(now.getTime() - DAY), seq: 9, cpuLoad: 5 });
      const recentStatus = from.status('online', { at: at(now.getTime() - HOUR) });
      await store.ingest([...oldHealth, ...oldOthers, recentHealth, recentStatus].map((message) => accepted(message)));

      expect(await store.prune(now, policy)).toEqual({ rawHealthFolded: 3, hourlyHealthDeleted: 0, eventsDeleted: 7 });
      const hourly = { at: at(hourStart), resolution: 'hour', cpuLoadPercent: 30, memoryAvailableBytes: 2e9, diskUsePercentMax: 50, cpuTemperatureC: 50 };
      const agent = await store.getAgent(PC01_KEY, { healthSince: new Date(T0) });
      expect(agent?.recentHealth).toEqual([hourly, { at: recentHealth.at, resolution: 'raw', cpuLoadPercent: 5, memoryAvailableBytes: 4e9, diskUsePercentMax: 40, cpuTemperatureC: null }]);
      expect(agent?.openFaults.map((fault) => fault.eventId)).toEqual([openRaise.eventId]);
      expect((await store.events(PC01_KEY)).map((event) => event.eventId)).toEqual([openRaise.eventId, recentHealth.eventId, recentStatus.eventId]);
      expect(await store.prune(now, policy)).toEqual({ rawHealthFolded: 0, hourlyHealthDeleted: 0, eventsDeleted: 0 });

      // A backlog for an hour already folded merges into its average, weighted by sample count.
      await store.ingest([accepted(from.health({ at: at(hourStart + 50 * 60_000), seq: 10, cpuLoad: 70, memoryAvailable: 2e9, diskUse: 50, cpuTemperature: 50 }), now)]);
      expect(await store.prune(now, policy)).toEqual({ rawHealthFolded: 1, hourlyHealthDeleted: 0, eventsDeleted: 0 });
      expect((await store.getAgent(PC01_KEY, { healthSince: new Date(T0) }))?.recentHealth[0]).toEqual({ ...hourly, cpuLoadPercent: 40 });

      const later = new Date(T0 + 35 * DAY);
      expect(await store.prune(later, policy)).toMatchObject({ rawHealthFolded: 1, hourlyHealthDeleted: 1 });
      expect((await store.getAgent(PC01_KEY, { healthSince: new Date(T0) }))?.recentHealth.map((point) => point.at)).toEqual([at(Math.floor((now.getTime() - DAY) / HOUR) * HOUR)]);
      await expect(store.prune(now, { ...policy, eventDays: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('two migrate() calls at once apply each migration exactly once', async () => {
      const [first, second] = await Promise.all([open(), open()]);
      await Promise.all([first.migrate(), second.migrate()]);
      await first.migrate();
      expect(first).toBeInstanceOf(SqlStore);
      expect(await (first as SqlStore).appliedMigrations()).toEqual(MIGRATIONS.map((migration) => migration.id));
      expect(await second.ingest([accepted(messagesFrom(PC01).health({ at: minutes(1), seq: 1 }))])).toEqual({ stored: 1, duplicates: 0, changed: NOTHING_FOLLOWS });
    });

    it('two stores ingesting overlapping batches at once store each event exactly once', async () => {
      const [first, second] = [await migrated(), await open()];
      const from = messagesFrom(PC01);
      const events: AcceptedEvent[] = Array.from({ length: 300 }, (_, index) => accepted(from.health({ at: minutes(index), seq: index + 1 })));
      const results = await Promise.all([first.ingest(events.slice(0, 200)), second.ingest(events.slice(100))]);
      expect(results.reduce((sum, result) => sum + result.stored, 0)).toBe(300);
      expect(results.reduce((sum, result) => sum + result.duplicates, 0)).toBe(100);
      expect(await first.countEvents()).toBe(300);
      expect((await first.getAgent(PC01_KEY, { healthSince: new Date(T0) }))?.recentHealth).toHaveLength(300);
    });

    it('keeps its data after close and reopen', async () => {
      const store = await migrated();
      const from = messagesFrom(PC01);
      await store.ingest([from.status('online', { at: minutes(1) }), from.inventory({ at: minutes(2), seq: 1 }), from.fault('raised', { at: minutes(3), seq: 2 })].map((message) => accepted(message)));
      const before = await store.getAgent(PC01_KEY, { healthSince: new Date(T0) });
      await store.close();
      await store.close();

      const reopened = await migrated();
      expect(await reopened.getAgent(PC01_KEY, { healthSince: new Date(T0) })).toEqual(before);
      expect(await reopened.countEvents()).toBe(3);
    });
  });
}

