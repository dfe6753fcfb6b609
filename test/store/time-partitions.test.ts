import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrationSql } from '../../cloud/store/migrations.js';
import { openStore } from '../../cloud/store/open-store.js';
import { SqlStore } from '../../cloud/store/sql-store.js';
import { agentKey, type Store } from '../../cloud/store/store.js';
import { ensureRanges, existingRanges, parseRangeBound, rangeName, rangesAround, TIME_PARTITIONED } from '../../cloud/store/time-partitions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { accepted, messagesFrom } from './store-messages.js';

const DAY = 86_400_000;
const PC01 = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const PC01_KEY = agentKey('sch-1', 'pc-01');
const iso = (ms: number): string => new Date(ms).toISOString();

describe('time ranges', () => {
  it('lie on a fixed grid from the epoch, named by the UTC day they start', () => {
    const now = Date.parse('2026-12-07T23:10:00Z');
    const ranges = rangesAround(TIME_PARTITIONED.healthEvents, now);
    expect(ranges.map((range) => range.name)).toEqual(['events_health_20261206', 'events_health_20261207', 'events_health_20261208', 'events_health_20261209']);
    expect(ranges[1]).toMatchObject({ from: Date.parse('2026-12-07T00:00:00Z'), to: Date.parse('2026-12-08T00:00:00Z') });
    const weeks = rangesAround(TIME_PARTITIONED.otherEvents, now, { behind: 0, ahead: 0 });
    expect(weeks).toHaveLength(1);
    expect(weeks[0]!.to - weeks[0]!.from).toBe(7 * DAY);
    expect(weeks[0]!.from).toBeLessThanOrEqual(now);
    expect(weeks[0]!.to).toBeGreaterThan(now);
    expect(rangeName(TIME_PARTITIONED.rawHealth, 0)).toBe('health_raw_19700101');
  });

  it("reads PostgreSQL's bound expressions, and none from the default leaf", () => {
    expect(parseRangeBound("FOR VALUES FROM ('1765065600000') TO ('1765152000000')")).toEqual({ from: 1765065600000, to: 1765152000000 });
    expect(parseRangeBound('FOR VALUES FROM (5) TO (10)')).toEqual({ from: 5, to: 10 });
    expect(parseRangeBound('DEFAULT')).toBeNull();
  });
});

describe('PostgreSQL time partitions', () => {
  let database: TestDatabase;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.end();
    await database.drop();
  });

  /** Where each event of `ids` lives: the leaf table's name. */
  async function leavesOf(ids: readonly string[], client = admin): Promise<Record<string, string>> {
    const { rows } = await client.query<{ event_id: string; leaf: string }>('SELECT event_id, tableoid::regclass::text AS leaf FROM events WHERE event_id = ANY($1)', [ids]);
    return Object.fromEntries(rows.map((row) => [row.event_id, row.leaf]));
  }

  async function leafNames(parent: string, client: pg.Client): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>('SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1', [parent]);
    return rows.map((row) => row.name);
  }

  it('keeps every row of a database made before partitioning, and each redelivery of them stays a duplicate', async () => {
    const old = await createTestDatabase();
    const client = new pg.Client({ connectionString: old.url });
    await client.connect();
    let store: Store | undefined;
    try {
      // The schema as it was before migration 0016, with a row in each table that 0016 rebuilds.
      await client.query('CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
      for (const migration of MIGRATIONS.filter((m) => m.id < '0016')) {
        await client.query(migrationSql(migration, 'postgres'));
        await client.query('INSERT INTO schema_migrations VALUES ($1, 0)', [migration.id]);
      }
      const health = messagesFrom(PC01).health({ at: iso(Date.now() - 60_000), seq: 1 });
      await client.query('INSERT INTO events VALUES ($1, $2, 1, $3, $4, $5, $6)', [health.eventId, PC01_KEY, 'health', Date.parse(health.at), Date.now(), JSON.stringify(health)]);
      await client.query("INSERT INTO health VALUES ($1, $2, 'raw', 1, 10, 4e9, 40, NULL, NULL), ($1, 0, 'hour', 60, 12, 4e9, 40, 50, NULL)", [PC01_KEY, Date.parse(health.at)]);

      store = await openStore(old.url);
      await store.migrate();
      expect(await store.countEvents()).toBe(1);
      const { rows } = await client.query<{ resolution: string; leaf: string }>('SELECT resolution, tableoid::regclass::text AS leaf FROM health ORDER BY at');
      // The hour of 1970 lies outside every range; today's sample moved into today's range.
      expect(rows).toEqual([
        { resolution: 'hour', leaf: 'health_hourly_outside' },
        { resolution: 'raw', leaf: rangeName(TIME_PARTITIONED.rawHealth, Math.floor(Date.parse(health.at) / DAY) * DAY) },
      ]);
      expect(await store.ingest([accepted(health)])).toMatchObject({ stored: 0, duplicates: 1 });
    } finally {
      await store?.close();
      await client.end();
      await old.drop();
    }
  });

  it('files events by the sender\'s time, moves the outside rows of a new range into it, and keeps redeliveries duplicates', async () => {
    const store = (await openStore(database.url)) as SqlStore;
    try {
      await store.migrate();
      const now = Date.now();
      for (const table of Object.values(TIME_PARTITIONED)) {
        expect((await existingRanges(store.database, table)).map((range) => range.name)).toEqual(rangesAround(table, now).map((range) => range.name));
      }
      const from = messagesFrom(PC01);
      const today = from.health({ at: iso(now), seq: 1 });
      // A PC whose clock runs ten days ahead: no range holds its time yet.
      const ahead = from.health({ at: iso(now + 10 * DAY), seq: 2 });
      const fault = from.fault('raised', { at: iso(now), seq: 3 });
      await store.ingest([today, ahead, fault].map((message) => accepted(message, new Date(now))));
      expect(await leavesOf([today.eventId, ahead.eventId, fault.eventId])).toEqual({
        [today.eventId]: rangeName(TIME_PARTITIONED.healthEvents, Math.floor(now / DAY) * DAY),
        [ahead.eventId]: 'events_health_outside',
        [fault.eventId]: rangesAround(TIME_PARTITIONED.otherEvents, now, { behind: 0, ahead: 0 })[0]!.name,
      });

      const made = await store.database.transaction((tx) => ensureRanges(tx, TIME_PARTITIONED.healthEvents, now + 10 * DAY), { exclusive: true });
      expect(made).toContain(rangeName(TIME_PARTITIONED.healthEvents, Math.floor((now + 10 * DAY) / DAY) * DAY));
      expect((await leavesOf([ahead.eventId]))[ahead.eventId]).toBe(rangeName(TIME_PARTITIONED.healthEvents, Math.floor((now + 10 * DAY) / DAY) * DAY));
      expect(await store.ingest([today, ahead, fault].map((message) => accepted(message)))).toMatchObject({ stored: 0, duplicates: 3 });
      expect(await store.countEvents()).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('retention drops whole ranges, keeping an open fault\'s evidence and rows received late, and counts what went', async () => {
    const fresh = await createTestDatabase();
    const store = (await openStore(fresh.url)) as SqlStore;
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      await store.migrate();
      const start = Date.now();
      const from = messagesFrom(PC01);
      const health = Array.from({ length: 30 }, (_, index) => from.health({ at: iso(start - 60_000 * (index + 1)), seq: index + 1 }));
      const openRaise = from.fault('raised', { at: iso(start - 60_000), seq: 40 });
      const otherRaise = from.fault('raised', { at: iso(start - 50_000), seq: 41, deviceId: 'usb:mic' });
      const otherClear = from.fault('cleared', { at: iso(start - 40_000), seq: 42, deviceId: 'usb:mic' });
      await store.ingest([...health, openRaise, otherRaise, otherClear].map((message) => accepted(message, new Date(start))));
      // Sent with a clock a day slow, and received 20 days later: it is kept until 20 days after that.
      const late = from.health({ at: iso(start - DAY), seq: 50 });
      await store.ingest([accepted(late, new Date(start + 20 * DAY))]);
      const healthLeaves = await leafNames('events_health', client);

      // Raw health and its events live 7 days, hourly health 90, other events 14 here.
      const policy = { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 14 };
      const result = await store.prune(new Date(start + 22 * DAY), policy);
      expect(result).toEqual({ rawHealthFolded: 31, hourlyHealthDeleted: 0, eventsDeleted: 32 });
      const after = await leafNames('events_health', client);
      for (const name of healthLeaves.filter((leaf) => leaf !== 'events_health_outside')) expect(after).not.toContain(name);
      expect(after).toEqual(expect.arrayContaining(rangesAround(TIME_PARTITIONED.healthEvents, start + 22 * DAY).map((range) => range.name)));
      expect(await leavesOf([late.eventId, openRaise.eventId], client)).toEqual({ [late.eventId]: 'events_health_outside', [openRaise.eventId]: 'events_other_outside' });
      expect((await store.getAgent(PC01_KEY))?.openFaults.map((fault) => fault.eventId)).toEqual([openRaise.eventId]);
      expect((await leafNames('health_raw', client)).filter((leaf) => leaf.endsWith(new Date(start).toISOString().slice(0, 10).replaceAll('-', '')))).toEqual([]);
      // The hours they were folded into stay for their own 90 days.
      const hours = (await store.getAgent(PC01_KEY, { healthSince: new Date(start - 2 * DAY) }))?.recentHealth ?? [];
      expect(hours.length).toBeGreaterThan(0);
      expect(hours.every((point) => point.resolution === 'hour')).toBe(true);
      // Nothing is left to go, and the kept rows go by rows once their own time comes.
      expect(await store.prune(new Date(start + 22 * DAY), policy)).toEqual({ rawHealthFolded: 0, hourlyHealthDeleted: 0, eventsDeleted: 0 });
      expect(await store.prune(new Date(start + 28 * DAY), policy)).toMatchObject({ eventsDeleted: 1 });
      expect(await store.countEvents()).toBe(1);
    } finally {
      await store.close();
      await client.end();
      await fresh.drop();
    }
  });

  it('says so when autovacuum is off, and then keeps the statistics fresh itself at every prune', async () => {
    const fresh = await createTestDatabase();
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const store = await openStore(fresh.url, { log });
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      await store.migrate();
      const { rows } = await client.query<{ autovacuum: string }>("SELECT current_setting('autovacuum') AS autovacuum");
      const off = rows[0]?.autovacuum === 'off';
      expect(warnings.some((line) => line.includes("autovacuum is off"))).toBe(off);
      await store.ingest([accepted(messagesFrom(PC01).health({ at: iso(Date.now()), seq: 1 }))]);
      await store.prune(new Date(), { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 365 });
      const analyzed = await client.query<{ relname: string }>("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname IN ('agents', 'faults', 'tickets')");
      // Analyzed by the prune only when autovacuum would not do it.
      expect(analyzed.rows.map((row) => row.relname).sort()).toEqual(off ? ['agents', 'faults', 'tickets'] : []);
    } finally {
      await store.close();
      await client.end();
      await fresh.drop();
    }
  });
});
