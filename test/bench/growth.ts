/**
 * bench:growth: how the cloud's cost grows with the fleet. For each fleet size (2,000 and 20,000
 * PCs, five tickets per PC: 10,000 and 100,000) and each database, a fresh database is seeded
 * (test/bench/seed-fleet.ts, tickets through the real ticket engine), then BENCH_GROWTH_MINUTES of
 * the fleet's traffic at realistic rates (test/bench/growth-traffic.ts) goes through the store's
 * ingest, the collector's write path, in batches as the collector writes them. Printed per case:
 *
 * - CPU per stored message and the process's peak RSS while ingesting (the store side; the MQTT
 *   side of the collector is bench:ingest's);
 * - database bytes per PC and day as written, and what one PC holds at steady state under the
 *   default retention (raw health 7 days, hourly 90, other events 365), measured by pruning at
 *   the end of each window and weighing the database before and after;
 * - the console's main queries (fleet page, one room's PC with a day of health and its tests, the
 *   ticket page with its count), medians of BENCH_RUNS.
 *
 * Each case seeds in one process and sends its traffic in another, so the RSS printed is that of a
 * process writing the fleet's traffic, not of the seeding. Ends with one JSON line whose
 * `growth` holds the 20,000 / 2,000 ratios: per-PC figures should stay near 1 and totals near 10.
 *
 *   npm run bench:growth
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore } from '../../cloud/store/open-store.js';
import { agentKey, type RetentionPolicy, type Store } from '../../cloud/store/store.js';
import { TicketStore } from '../../cloud/tickets/ticket-store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { minuteOfTraffic } from './growth-traffic.js';
import { median, round } from './proc-stats.js';
import { seededSenders, seedFleet } from './seed-fleet.js';

const FLEETS = (process.env.BENCH_GROWTH_FLEETS ?? '2000,20000').split(',').map(Number);
const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',').map((name) => name.trim());
const MINUTES = Number(process.env.BENCH_GROWTH_MINUTES ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TICKETS_PER_AGENT = 5;
const BATCH = 500;
const DAY_MS = 86_400_000;
/** The cloud's defaults (cloud/cloud-options.ts). */
const RETENTION: RetentionPolicy = { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 365 };

interface CaseFigures {
  database: string;
  agents: number;
  tickets: number;
  messages: number;
  seedSeconds: number;
  ingestSeconds: number;
  cpuUsPerMessage: number;
  peakRssMb: number;
  writtenBytesPerAgentDay: number;
  steadyBytesPerAgent: number;
  /** Where a PC's steady-state bytes are: a week of raw health, 90 days of hours, a year of other events, its row and tickets. */
  steadyMbPerAgent: Record<string, number>;
  steadyGbForFleet: number;
  fleetPageMs: number;
  roomHistoryMs: number;
  ticketPageMs: number;
}

/** Bytes the database holds now: used pages (SQLite), tables with their indexes and TOAST after a VACUUM (PostgreSQL). */
async function databaseBytes(store: Store): Promise<number> {
  const db = store.database;
  if (db.name === 'sqlite') {
    const [row] = await db.query<{ used: number }>('SELECT ((SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())) * (SELECT page_size FROM pragma_page_size()) AS used');
    return Number(row?.used ?? 0);
  }
  // What autovacuum would have made reusable by now: dead rows of updated agents and faults.
  await db.executeScript('VACUUM');
  const [row] = await db.query<{ bytes: number }>(
    "SELECT SUM(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
  );
  return Number(row?.bytes ?? 0);
}

/** Rows of each kind that grows with time, and the bytes they take with their indexes. */
interface KindSizes {
  healthEvents: { rows: number; bytes: number };
  otherEvents: { rows: number; bytes: number };
  rawHealth: { rows: number; bytes: number };
  hourlyHealth: { rows: number; bytes: number };
}

/**
 * PostgreSQL weighs each partition tree. SQLite's events table holds every kind, so its pages
 * (table and indexes, from dbstat) are shared out by each kind's share of the stored bytes; its
 * health table likewise between raw and hourly rows.
 */
async function kindSizes(store: Store): Promise<KindSizes> {
  const db = store.database;
  const count = async (sql: string) => Number((await db.query<{ n: number }>(sql))[0]?.n ?? 0);
  const rows = {
    healthEvents: await count("SELECT COUNT(*) AS n FROM events WHERE type = 'health'"),
    otherEvents: await count("SELECT COUNT(*) AS n FROM events WHERE type <> 'health'"),
    rawHealth: await count("SELECT COUNT(*) AS n FROM health WHERE resolution = 'raw'"),
    hourlyHealth: await count("SELECT COUNT(*) AS n FROM health WHERE resolution = 'hour'"),
  };
  if (db.name === 'postgres') {
    await db.executeScript('VACUUM');
    const tree = (parent: string) => count(`SELECT COALESCE(SUM(pg_total_relation_size(relid)), 0)::bigint AS n FROM pg_partition_tree('${parent}')`);
    return {
      healthEvents: { rows: rows.healthEvents, bytes: await tree('events_health') },
      otherEvents: { rows: rows.otherEvents, bytes: await tree('events_other') },
      rawHealth: { rows: rows.rawHealth, bytes: await tree('health_raw') },
      hourlyHealth: { rows: rows.hourlyHealth, bytes: await tree('health_hourly') },
    };
  }
  const pages = (table: string) => count(`SELECT COALESCE(SUM(pgsize), 0) AS n FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = '${table}')`);
  const [eventsBytes, healthBytes] = [await pages('events'), await pages('health')];
  const healthShare = await count("SELECT CAST(SUM(CASE WHEN type = 'health' THEN length(payload) + 100 ELSE 0 END) * 1000000 / MAX(1, SUM(length(payload) + 100)) AS INTEGER) AS n FROM events");
  const rawShare = rows.rawHealth / Math.max(1, rows.rawHealth + rows.hourlyHealth);
  return {
    healthEvents: { rows: rows.healthEvents, bytes: (eventsBytes * healthShare) / 1e6 },
    otherEvents: { rows: rows.otherEvents, bytes: eventsBytes * (1 - healthShare / 1e6) },
    rawHealth: { rows: rows.rawHealth, bytes: healthBytes * rawShare },
    hourlyHealth: { rows: rows.hourlyHealth, bytes: healthBytes * (1 - rawShare) },
  };
}

const perRow = (after: { rows: number; bytes: number }, before: { rows: number; bytes: number }): number => (after.bytes - before.bytes) / Math.max(1, after.rows - before.rows);

async function timed(work: () => Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    await work();
    runs.push(performance.now() - started);
  }
  return round(median(runs), 2);
}

const planFor = (agents: number) => ({ agents, tickets: agents * TICKETS_PER_AGENT, schools: Math.max(1, Math.round(agents / 40)) });

/** Seeds the fleet and its tickets into the database at `spec`: a process of its own, so the traffic's process starts clean. */
async function seedCase(spec: string, agents: number): Promise<{ tickets: number; seedSeconds: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'avcare-growth-seed-'));
  const store = await openStore(spec, { log: pino({ level: 'silent' }) });
  try {
    await store.migrate();
    const seeded = await seedFleet(store, dataDir, planFor(agents));
    return { tickets: seeded.tickets, seedSeconds: round(seeded.ms / 1000) };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The fleet's traffic into the seeded database at `spec`, then its queries, then retention. */
async function trafficCase(spec: string, database: string, agents: number): Promise<Omit<CaseFigures, 'tickets' | 'seedSeconds'>> {
  const store = await openStore(spec, { log: pino({ level: 'silent' }) });
  try {
    const senders = seededSenders(planFor(agents));
    const before = await databaseBytes(store);
    const kindsBefore = await kindSizes(store);

    const start = Date.now() - MINUTES * 60_000;
    const seqs: number[] = [];
    let messages = 0;
    let cpuMicros = 0;
    let peakRss = 0;
    const ingestStarted = performance.now();
    for (let minute = 0; minute < MINUTES; minute += 1) {
      const events = minuteOfTraffic(senders, seqs, start, minute);
      for (let from = 0; from < events.length; from += BATCH) {
        const cpu = process.cpuUsage();
        const result = await store.ingest(events.slice(from, from + BATCH));
        const used = process.cpuUsage(cpu);
        cpuMicros += used.user + used.system;
        messages += result.stored;
      }
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    const afterTraffic = await databaseBytes(store);
    const kindsAfter = await kindSizes(store);

    const sender = senders[Math.floor(agents / 2)];
    if (!sender) throw new Error('the seeded fleet is empty');
    const key = agentKey(sender.schoolId, sender.agentId);
    const tickets = new TicketStore(store.database);
    const now = new Date();
    const fleetPageMs = await timed(() => store.agentsPage({}, { limit: 50, offset: 0 }));
    const roomHistoryMs = await timed(() =>
      Promise.all([store.getAgent(key, { healthSince: new Date(now.getTime() - DAY_MS) }), store.measurements(key, { since: new Date(now.getTime() - 7 * DAY_MS), limit: 50 })]),
    );
    const ticketPageMs = await timed(() => Promise.all([tickets.list({ activeOnly: true, limit: 50, offset: 0 }), tickets.count({ activeOnly: true })]));

    // A week on, the window's raw health is folded into hours: one PC's hour row weighed.
    await store.prune(new Date(now.getTime() + 7 * DAY_MS + 2 * 3_600_000), RETENTION);
    const kindsFolded = await kindSizes(store);
    const days = MINUTES / 1440;
    const perAgentDay = (rows: number) => rows / agents / days;
    // Steady state: each kind's rows per PC and day, times its bytes per row, times the days it is kept.
    const kept = (kind: keyof KindSizes, rowsPerDay: number, keptDays: number) => rowsPerDay * perRow(kindsAfter[kind], kindsBefore[kind]) * keptDays;
    const rowsPerDay = (kind: keyof KindSizes) => perAgentDay(kindsAfter[kind].rows - kindsBefore[kind].rows);
    const steadyParts = {
      rawHealth: kept('healthEvents', rowsPerDay('healthEvents'), RETENTION.rawHealthDays) + kept('rawHealth', rowsPerDay('rawHealth'), RETENTION.rawHealthDays),
      hourlyHealth: 24 * perRow(kindsFolded.hourlyHealth, kindsBefore.hourlyHealth) * RETENTION.hourlyHealthDays,
      otherEvents: kept('otherEvents', rowsPerDay('otherEvents'), RETENTION.eventDays),
      agentAndTickets: before / agents,
    };
    const steady = Object.values(steadyParts).reduce((sum, part) => sum + part, 0);
    return {
      database,
      agents,
      messages,
      ingestSeconds: round(ingestSeconds),
      cpuUsPerMessage: round(cpuMicros / Math.max(1, messages)),
      peakRssMb: round(peakRss / 1e6),
      writtenBytesPerAgentDay: Math.round((afterTraffic - before) / agents / days),
      steadyBytesPerAgent: Math.round(steady),
      steadyMbPerAgent: Object.fromEntries(Object.entries(steadyParts).map(([part, bytes]) => [part, round(bytes / 1e6, 2)])),
      steadyGbForFleet: round((steady * agents) / 1e9, 2),
      fleetPageMs,
      roomHistoryMs,
      ticketPageMs,
    };
  } finally {
    await store.close();
  }
}

const PER_AGENT: ReadonlyArray<keyof CaseFigures> = ['cpuUsPerMessage', 'writtenBytesPerAgentDay', 'steadyBytesPerAgent'];
const PER_QUERY: ReadonlyArray<keyof CaseFigures> = ['fleetPageMs', 'roomHistoryMs', 'ticketPageMs'];

/** Ratios of the largest fleet's figures to the smallest's, and whether each grew no faster than the fleet. */
function growthOf(cases: readonly CaseFigures[]) {
  const growth: Record<string, Record<string, number | boolean>> = {};
  for (const database of DATABASES) {
    const mine = cases.filter((figures) => figures.database === database).sort((a, b) => a.agents - b.agents);
    const small = mine[0];
    const large = mine.at(-1);
    if (!small || !large || small === large) continue;
    const fleetRatio = large.agents / small.agents;
    const ratios: Record<string, number | boolean> = { fleetRatio };
    let linear = true;
    for (const field of [...PER_AGENT, ...PER_QUERY, 'peakRssMb' as const]) {
      const ratio = round(Number(large[field]) / Number(small[field]), 2);
      ratios[field] = ratio;
      // Per-PC figures and query times should stay flat; a total may grow with the fleet, not faster. 1.5x allows for noise.
      const allowed = field === 'peakRssMb' ? fleetRatio : 1.5;
      if (PER_AGENT.includes(field) || field === 'peakRssMb') linear &&= ratio <= allowed;
      else linear &&= ratio <= fleetRatio;
    }
    ratios.linearOrBetter = linear;
    growth[database] = ratios;
  }
  return growth;
}

/** Runs one phase of one case in a child process and returns what it printed on its RESULT line. */
function phase<T>(args: readonly string[]): T {
  const child = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = child.stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`${args.join(' ')} failed (exit ${child.status}):\n${child.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

async function runCase(database: string, agents: number): Promise<CaseFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'avcare-growth-'));
  const pgDatabase = database === 'postgres' ? await createTestDatabase() : undefined;
  const spec = pgDatabase?.url ?? `sqlite:${join(dataDir, 'avcare.db')}`;
  try {
    const seeded = phase<{ tickets: number; seedSeconds: number }>(['--seed', spec, String(agents)]);
    const traffic = phase<Omit<CaseFigures, 'tickets' | 'seedSeconds'>>(['--traffic', spec, database, String(agents)]);
    return { ...traffic, ...seeded };
  } finally {
    await pgDatabase?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [mode, spec = '', ...rest] = process.argv.slice(2);
  if (mode === '--seed') {
    console.log(`RESULT ${JSON.stringify(await seedCase(spec, Number(rest[0])))}`);
    return;
  }
  if (mode === '--traffic') {
    console.log(`RESULT ${JSON.stringify(await trafficCase(spec, rest[0] ?? 'sqlite', Number(rest[1])))}`);
    return;
  }
  const cases: CaseFigures[] = [];
  for (const database of DATABASES) {
    for (const agents of FLEETS) {
      const figures = await runCase(database, agents);
      cases.push(figures);
      console.log(
        `${database} ${agents} PCs, ${figures.tickets} tickets: ${figures.messages} messages in ${figures.ingestSeconds} s, ${figures.cpuUsPerMessage} µs CPU/msg, peak RSS ${figures.peakRssMb} MB; ` +
          `${figures.writtenBytesPerAgentDay} B/PC/day written, ${figures.steadyBytesPerAgent} B/PC at steady state (${figures.steadyGbForFleet} GB for the fleet; MB: ${JSON.stringify(figures.steadyMbPerAgent)}); ` +
          `fleet page ${figures.fleetPageMs} ms, room history ${figures.roomHistoryMs} ms, ticket page ${figures.ticketPageMs} ms`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'growth', minutes: MINUTES, runs: RUNS, retention: RETENTION, cases, growth: growthOf(cases) }));
}

await main();
