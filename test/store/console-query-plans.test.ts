/**
 * The console's main queries against a PostgreSQL fleet of realistic shape, through the store's
 * own methods: every statement they send is recorded and asked for its plan (EXPLAIN), which must
 * reach the fleet's big tables (agents, health, events, tickets) through an index, never by
 * reading the whole table. A query that loses its index fails here, not at a provider with
 * 100,000 tickets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { silentLogger } from '../../protocol/log.js';
import { PostgresDialect } from '../../cloud/store/postgres-dialect.js';
import { SqlStore } from '../../cloud/store/sql-store.js';
import type { Dialect, SqlParam } from '../../cloud/store/dialect.js';
import { agentKey } from '../../cloud/store/store.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import { serviceDirectory } from '../../cloud/tickets/service-config.js';
import { seedFleet, seedService } from '../bench/seed-fleet.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIG_TABLES = ['agents', 'health', 'events', 'tickets'];
/** Seeded through the store and the engine, then copied COPIES times under other schools' names: 1,000 schools, 10,000 PCs and tickets. */
const PLAN = { agents: 500, tickets: 500, schools: 50 };
const COPIES = 20;

interface Recorded {
  sql: string;
  params: readonly SqlParam[];
}

/** The dialect as the store uses it, writing down every query it is asked. */
function recording(dialect: Dialect, into: Recorded[]): Dialect {
  return new Proxy(dialect, {
    get(target, property, receiver) {
      if (property === 'query') return (sql: string, params: readonly SqlParam[] = []) => (into.push({ sql, params }), target.query(sql, params));
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function copyUnderOtherSchools(client: pg.Client, table: string): Promise<void> {
  const { rows } = await client.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [table]);
  const renamed: Record<string, string> = {
    school_id: "'c' || n || '-' || school_id",
    agent_key: "'c' || n || '-' || agent_key",
    id: "id || '-c' || n",
  };
  const columns = rows.map((row) => row.column_name);
  const values = columns.map((column) => renamed[column] ?? column);
  await client.query(`INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values.join(', ')} FROM ${table}, generate_series(1, ${COPIES - 1}) AS n`);
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/**
 * The big table a scanned relation belongs to: itself, or on PostgreSQL one of its time ranges
 * (health_raw_20261207). Empty relations (a range for days still to come) are left out: the
 * planner rightly reads a table with no rows in full.
 */
function bigTableOf(relation: string | undefined, empty: ReadonlySet<string>): string | undefined {
  if (relation === undefined || empty.has(relation)) return undefined;
  return BIG_TABLES.find((table) => relation === table || relation.startsWith(`${table}_`));
}

function fullScans(node: PlanNode, empty: ReadonlySet<string>): string[] {
  const table = node['Node Type'] === 'Seq Scan' ? bigTableOf(node['Relation Name'], empty) : undefined;
  const own = table ? [`${table} (${node['Relation Name'] ?? ''})`] : [];
  return [...own, ...(node.Plans ?? []).flatMap((child) => fullScans(child, empty))];
}

function relationsOf(node: PlanNode): string[] {
  return [...(node['Relation Name'] ? [node['Relation Name']] : []), ...(node.Plans ?? []).flatMap(relationsOf)];
}

describe('the console\'s queries on PostgreSQL use indexes', () => {
  let database: TestDatabase;
  let admin: pg.Client;
  let store: SqlStore;
  let engine: TicketEngine;
  const recorded: Recorded[] = [];
  let empty: ReadonlySet<string> = new Set();

  beforeAll(async () => {
    database = await createTestDatabase();
    const dialect = PostgresDialect.open(database.url, silentLogger);
    store = new SqlStore(recording(dialect, recorded), silentLogger);
    await store.migrate();
    await seedFleet(store, mkdtempSync(join(tmpdir(), 'avcare-plans-')), PLAN);
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    // A provider's size without opening 10,000 tickets one by one: each row copied under a school
    // named c<N>-<school> (and its PC's key with it), every other column as the engine wrote it.
    for (const table of ['agents', 'tickets', 'faults']) await copyUnderOtherSchools(admin, table);
    // A day of health samples for every PC (every 5 minutes): the room history reads them.
    await admin.query(`INSERT INTO health (agent_key, at, resolution, samples, cpu_load, mem_available, disk_use_max, cpu_temp, outbox)
      SELECT agent_key, (extract(epoch from now()) * 1000)::bigint - n * 300000, 'raw', 1, 10, 1e9, 40, 45, NULL FROM agents, generate_series(1, 288) AS n`);
    await admin.query('ANALYZE');
    const { rows } = await admin.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relkind = 'r' AND relpages = 0");
    empty = new Set(rows.map((row) => row.relname));
    engine = new TicketEngine({ db: recording(dialect, recorded), directory: serviceDirectory(seedService(PLAN)), log: silentLogger });
  }, 180_000);

  afterAll(async () => {
    await engine?.stop();
    await admin?.end();
    await store?.close();
    await database?.drop();
  });

  async function plansOf(work: () => Promise<unknown>): Promise<Array<{ sql: string; fullScans: string[]; relations: string[] }>> {
    recorded.length = 0;
    await work();
    const plans = [];
    for (const { sql, params } of recorded.splice(0)) {
      const { rows } = await admin.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, [...params]);
      const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
      if (!plan) throw new Error(`no plan for ${sql}`);
      plans.push({ sql: sql.replace(/\s+/g, ' ').slice(0, 160), fullScans: fullScans(plan, empty), relations: relationsOf(plan) });
    }
    return plans;
  }

  it('the fleet list of a school admin (one school) and of an engineer (ten schools), a page at a time', async () => {
    const schools = seedService(PLAN).schools.map((school) => school.id);
    const plans = [
      ...(await plansOf(() => store.agentsPage({ schoolIds: schools.slice(0, 1) }, { limit: 50, offset: 0 }))),
      ...(await plansOf(() => store.agentsPage({ schoolIds: schools.slice(0, 10) }, { limit: 50, offset: 100 }))),
    ];
    expect(plans.length).toBeGreaterThanOrEqual(4);
    expect(plans.filter((plan) => plan.fullScans.length > 0)).toEqual([]);
  });

  it("the operator's fleet list, every school, a page at a time, reads only its page's PCs", async () => {
    const plans = await plansOf(() => store.agentsPage({}, { limit: 50, offset: 0 }));
    // Counting the whole fleet reads it all, by nature; the page itself comes from the code-point index.
    const page = plans.filter((plan) => !plan.sql.startsWith('SELECT COUNT(*)'));
    expect(page).toHaveLength(1);
    expect(page[0]?.fullScans).toEqual([]);
  });

  it("one PC's page: its faults and a day of its room's health", async () => {
    const plans = await plansOf(() => store.getAgent(agentKey('sch-001', 'pc-00001'), { healthSince: new Date(Date.now() - 24 * 3_600_000) }));
    expect(plans.length).toBeGreaterThanOrEqual(3);
    // The day of health is read from the day's time ranges, each through its index.
    expect(plans.flatMap((plan) => plan.relations).filter((relation) => relation.startsWith('health_raw_2'))).not.toEqual([]);
    expect(plans.filter((plan) => plan.fullScans.length > 0)).toEqual([]);
  });

  it("the ticket list of a school and of an engineer's schools, open ones newest first, with its count", async () => {
    const schools = seedService(PLAN).schools.map((school) => school.id);
    const plans = [
      ...(await plansOf(() => engine.list({ schoolIds: schools.slice(0, 1), status: 'open', limit: 50 }))),
      ...(await plansOf(() => engine.store.count({ schoolIds: schools.slice(0, 10), activeOnly: true }))),
    ];
    expect(plans.length).toBeGreaterThanOrEqual(2);
    expect(plans.filter((plan) => plan.fullScans.length > 0)).toEqual([]);
  });
});
