import type { Logger } from '../../protocol/log.js';
import { AvcareError, type AgentMessage, type Device, type FaultMessage, type OutboxStats, type SystemSnapshot } from '../../protocol/index.js';
import type { Column, Dialect, SqlParam, SqlRunner, SqlValue } from './dialect.js';
import { applyFaultEvent, faultDeviceKey, type FaultRecord } from './fault-state.js';
import { MIGRATIONS, migrationSql } from './migrations.js';
import { HOUR_MS, retentionCutoffs, type RetentionCutoffs } from './retention.js';
import { ensureRanges, retireRanges, TIME_PARTITIONED } from './time-partitions.js';
import {
  agentKey,
  type AcceptedEvent,
  type AgentDetail,
  type AgentKey,
  type AgentState,
  type AgentSummary,
  type HealthPoint,
  type IngestResult,
  type OpenFault,
  type PruneResult,
  type RetentionPolicy,
  type Store,
  type StoredEvent,
  type AgentFilter,
  type LatestMeasurement,
} from './store.js';

const DEFAULT_HEALTH_WINDOW_MS = 24 * HOUR_MS;

/** One accepted message as it goes into the events table. */
interface EventRow {
  eventId: string;
  agentKey: AgentKey;
  seq: number | null;
  at: number;
  receivedAt: number;
  message: AgentMessage;
}

const EVENT_COLUMNS: readonly Column[] = [
  { name: 'event_id', type: 'text' },
  { name: 'agent_key', type: 'text' },
  { name: 'seq', type: 'bigint' },
  { name: 'type', type: 'text' },
  { name: 'at', type: 'bigint' },
  { name: 'received_at', type: 'bigint' },
  { name: 'payload', type: 'text' },
];

const AGENT_COLUMNS: readonly Column[] = [
  { name: 'agent_key', type: 'text' },
  { name: 'school_id', type: 'text' },
  { name: 'agent_id', type: 'text' },
  { name: 'room_id', type: 'text' },
  { name: 'state', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'state_changed_at', type: 'bigint' },
  { name: 'last_seen_at', type: 'bigint' },
  { name: 'last_seq', type: 'bigint' },
  { name: 'inventory', type: 'text' },
  { name: 'inventory_at', type: 'bigint' },
  { name: 'device_count', type: 'bigint' },
  { name: 'system', type: 'text' },
  { name: 'health_at', type: 'bigint' },
  { name: 'last_network', type: 'text' },
  { name: 'last_network_at', type: 'bigint' },
  { name: 'last_avsync', type: 'text' },
  { name: 'last_avsync_at', type: 'bigint' },
];

/**
 * A status replaces the stored one only if it is newer by the agent's clock, so a backlog
 * delivered after a reconnect cannot flip a newer "online" back to "offline". On a tie "offline"
 * wins: the last will is built when the connection opens, so it carries the same time as (or an
 * earlier time than) the "online" of that very connection, and it must still count when the
 * broker publishes it.
 */
const NEWER_STATUS = `excluded.state_changed_at IS NOT NULL AND (agents.state_changed_at IS NULL
  OR excluded.state_changed_at > agents.state_changed_at
  OR (excluded.state_changed_at = agents.state_changed_at AND excluded.state = 'offline'))`;
const NEWER_INVENTORY = 'excluded.inventory_at IS NOT NULL AND (agents.inventory_at IS NULL OR excluded.inventory_at > agents.inventory_at)';
const NEWER_HEALTH = 'excluded.health_at IS NOT NULL AND (agents.health_at IS NULL OR excluded.health_at > agents.health_at)';

function newerThan(column: string): string {
  return `excluded.${column} IS NOT NULL AND (agents.${column} IS NULL OR excluded.${column} > agents.${column})`;
}

function takeIfNewer(condition: string, column: string): string {
  return `${column} = CASE WHEN ${condition} THEN excluded.${column} ELSE agents.${column} END`;
}

const AGENT_UPSERT = `ON CONFLICT (agent_key) DO UPDATE SET
  room_id = CASE WHEN excluded.last_seen_at >= agents.last_seen_at THEN excluded.room_id ELSE agents.room_id END,
  last_seen_at = CASE WHEN excluded.last_seen_at > agents.last_seen_at THEN excluded.last_seen_at ELSE agents.last_seen_at END,
  last_seq = CASE WHEN agents.last_seq IS NULL OR excluded.last_seq > agents.last_seq THEN excluded.last_seq ELSE agents.last_seq END,
  ${['state', 'status', 'state_changed_at'].map((column) => takeIfNewer(NEWER_STATUS, column)).join(',\n  ')},
  ${['inventory', 'inventory_at', 'device_count'].map((column) => takeIfNewer(NEWER_INVENTORY, column)).join(',\n  ')},
  ${['system', 'health_at'].map((column) => takeIfNewer(NEWER_HEALTH, column)).join(',\n  ')},
  ${['last_network', 'last_network_at'].map((column) => takeIfNewer(newerThan('last_network_at'), column)).join(',\n  ')},
  ${['last_avsync', 'last_avsync_at'].map((column) => takeIfNewer(newerThan('last_avsync_at'), column)).join(',\n  ')}`;

const HEALTH_COLUMNS: readonly Column[] = [
  { name: 'agent_key', type: 'text' },
  { name: 'at', type: 'bigint' },
  { name: 'resolution', type: 'text' },
  { name: 'samples', type: 'bigint' },
  { name: 'cpu_load', type: 'double' },
  { name: 'mem_available', type: 'double' },
  { name: 'disk_use_max', type: 'double' },
  { name: 'cpu_temp', type: 'double' },
  { name: 'outbox', type: 'text' },
];

const FAULT_COLUMNS: readonly Column[] = [
  { name: 'agent_key', type: 'text' },
  { name: 'code', type: 'text' },
  { name: 'device_key', type: 'text' },
  { name: 'state', type: 'text' },
  { name: 'category', type: 'text' },
  { name: 'severity', type: 'text' },
  { name: 'detail', type: 'text' },
  { name: 'first_seen_at', type: 'bigint' },
  { name: 'raised_at', type: 'bigint' },
  { name: 'changed_at', type: 'bigint' },
  { name: 'event_id', type: 'text' },
];

/**
 * Newest wins: two batches (two collectors, or one collector's concurrent batches) may both find no
 * row for a new fault and both insert; the later commit must not put back an older state.
 */
const FAULT_UPSERT = `ON CONFLICT (agent_key, code, device_key) DO UPDATE SET ${FAULT_COLUMNS.slice(3)
  .map((column) => `${column.name} = excluded.${column.name}`)
  .join(', ')} WHERE faults.changed_at < excluded.changed_at`;

function weightedAverage(column: string): string {
  return `(health.${column} * health.samples + excluded.${column} * excluded.samples) / (health.samples + excluded.samples)`;
}

/**
 * Folds raw samples into one row per agent and hour. A late backlog folded by a later prune
 * lands on an existing hour row and is merged into it, weighted by sample counts.
 */
const FOLD_RAW_HEALTH = `INSERT INTO health (agent_key, at, resolution, samples, cpu_load, mem_available, disk_use_max, cpu_temp, outbox)
SELECT agent_key, (at / ${HOUR_MS}) * ${HOUR_MS}, 'hour', COUNT(*), AVG(cpu_load), AVG(mem_available), AVG(disk_use_max), AVG(cpu_temp), NULL
FROM health WHERE resolution = 'raw' AND at < $1
GROUP BY agent_key, (at / ${HOUR_MS}) * ${HOUR_MS}
ON CONFLICT (agent_key, at, resolution) WHERE resolution = 'hour' DO UPDATE SET
  cpu_load = ${weightedAverage('cpu_load')},
  mem_available = ${weightedAverage('mem_available')},
  disk_use_max = ${weightedAverage('disk_use_max')},
  cpu_temp = CASE WHEN health.cpu_temp IS NULL THEN excluded.cpu_temp WHEN excluded.cpu_temp IS NULL THEN health.cpu_temp ELSE ${weightedAverage('cpu_temp')} END,
  samples = health.samples + excluded.samples`;

/** The raise that opened a still-open fault is its evidence for a ticket: retention keeps it whatever its age. */
const OPEN_FAULT_EVIDENCE = "event_id IN (SELECT event_id FROM faults WHERE state = 'raised')";

interface AgentRowData {
  agent_key: string;
  school_id: string;
  agent_id: string;
  room_id: string;
  state: string;
  status: string | null;
  state_changed_at: number | null;
  last_seen_at: number;
  device_count: number;
  open_fault_count: number;
  worst_severity: number | null;
  last_network: string | null;
  last_avsync: string | null;
}

interface AgentDetailRowData extends AgentRowData {
  inventory: string | null;
  inventory_at: number | null;
  system: string | null;
}

interface FaultRowData {
  agent_key: string;
  code: FaultMessage['code'];
  device_key: string;
  state: FaultMessage['state'];
  category: FaultMessage['category'];
  severity: FaultMessage['severity'];
  detail: string;
  first_seen_at: number;
  raised_at: number;
  changed_at: number;
  event_id: string;
}

interface HealthRowData {
  at: number;
  resolution: 'raw' | 'hour';
  cpu_load: number;
  mem_available: number;
  disk_use_max: number;
  cpu_temp: number | null;
  outbox: string | null;
}

interface EventRowData {
  event_id: string;
  agent_key: string;
  seq: number | null;
  type: AgentMessage['type'];
  at: number;
  received_at: number;
  payload: string;
}

const AGENT_SUMMARY_SELECT = `SELECT agent_key, school_id, agent_id, room_id, state, status, state_changed_at, last_seen_at, device_count, last_network, last_avsync,
  (SELECT COUNT(*) FROM faults WHERE faults.agent_key = agents.agent_key AND faults.state = 'raised') AS open_fault_count,
  (SELECT MAX(CASE faults.severity WHEN 'critical' THEN 3 WHEN 'urgent' THEN 2 ELSE 1 END) FROM faults WHERE faults.agent_key = agents.agent_key AND faults.state = 'raised') AS worst_severity`;

const SEVERITY_BY_RANK: Record<number, AgentSummary['worstSeverity']> = { 1: 'general', 2: 'urgent', 3: 'critical' };

/** The one query layer over either dialect: every statement below runs unchanged on both. */
export class SqlStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: Dialect,
    private readonly log: Logger,
  ) {
    this.dialect = db.name;
  }

  get database(): Dialect {
    return this.db;
  }

  async migrate(): Promise<void> {
    for (const migration of MIGRATIONS) {
      // One transaction per migration, each under the lock: a second process waits, then finds it applied.
      const applied = await this.db.transaction(
        async (tx) => {
          await tx.executeScript('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
          const done = await tx.query('SELECT id FROM schema_migrations WHERE id = $1', [migration.id]);
          if (done.length > 0) return false;
          await tx.executeScript(migrationSql(migration, this.db.name));
          await tx.execute('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [migration.id, Date.now()]);
          return true;
        },
        { exclusive: true },
      );
      if (applied) this.log.info({ migration: migration.id, dialect: this.dialect }, 'applied migration');
    }
    if (this.db.name === 'postgres') {
      await this.ensureTimeRanges(new Date());
      if (!(await this.autovacuumOn())) {
        this.log.warn("PostgreSQL's autovacuum is off: without fresh statistics the planner keeps the plans it chose for empty tables; avcare runs ANALYZE at every hourly retention instead");
      }
    }
  }

  /** Ids of the applied migrations, in order (diagnostics and tests). */
  async appliedMigrations(): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id');
    return rows.map((row) => row.id);
  }

  async ingest(events: readonly AcceptedEvent[]): Promise<IngestResult> {
    const rows = uniqueEventRows(events);
    if (rows.length === 0) return { stored: 0, duplicates: events.length };
    const stored = await this.db.transaction(async (tx) => {
      const inserted = await tx.insertMany({
        table: 'events',
        columns: EVENT_COLUMNS,
        rows: rows.map((row) => [row.eventId, row.agentKey, row.seq, row.message.type, row.at, row.receivedAt, JSON.stringify(row.message)]),
        // No target: SQLite's key is the event id, PostgreSQL's (partitioned) the id, type and time.
        onConflict: 'ON CONFLICT DO NOTHING',
        returning: 'event_id',
      });
      // Only events stored for the first time change fleet state: a redelivery must change nothing.
      const newIds = new Set(inserted);
      const fresh = rows.filter((row) => newIds.has(row.eventId));
      await writeAgents(tx, fresh);
      await writeHealth(tx, fresh);
      const faults = await this.writeFaults(tx, fresh);
      const agents = [...new Set(fresh.filter((row) => row.message.type === 'status').map((row) => row.agentKey))];
      const reports = fresh.filter((row) => row.message.type === 'report').map((row) => ({ agentKey: row.agentKey, eventId: row.eventId }));
      return { count: fresh.length, changed: { faults, agents, reports } };
    });
    return { stored: stored.count, duplicates: events.length - stored.count, changed: stored.changed };
  }

  async listAgents(filter: AgentFilter = {}): Promise<AgentSummary[]> {
    const { where, params } = this.agentConditions(filter);
    const rows = await this.db.query<AgentRowData>(`${AGENT_SUMMARY_SELECT} FROM agents${where}`, params);
    // Sorted here, not by ORDER BY: PostgreSQL sorts text by the database's locale, SQLite by code unit.
    return rows.map(toSummary).sort((a, b) => compareText(a.id, b.id));
  }

  async agentsPage(filter: AgentFilter, page: { limit: number; offset: number }): Promise<{ agents: AgentSummary[]; total: number }> {
    const { where, params } = this.agentConditions(filter);
    const [count] = await this.db.query<{ total: number }>(`SELECT COUNT(*) AS total FROM agents${where}`, params);
    const rows = await this.db.query<AgentRowData>(
      `${AGENT_SUMMARY_SELECT} FROM agents${where} ORDER BY ${this.db.byCodePoint('agent_key')} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, page.limit, page.offset],
    );
    return { agents: rows.map(toSummary), total: Number(count?.total ?? 0) };
  }

  private agentConditions(filter: AgentFilter): { where: string; params: SqlParam[] } {
    const conditions: string[] = [];
    const params: SqlParam[] = [];
    if (filter.schoolId !== undefined) {
      params.push(filter.schoolId);
      conditions.push(`school_id = $${params.length}`);
    }
    if (filter.schoolIds !== undefined) {
      params.push(this.db.textList(filter.schoolIds));
      conditions.push(this.db.inTextList('school_id', params.length));
    }
    if (filter.state !== undefined) {
      params.push(filter.state);
      conditions.push(`state = $${params.length}`);
    }
    if (filter.text !== undefined && filter.text !== '') {
      // The key holds the school and the PC; the room is its own column. The person's % and _ are text, not wildcards.
      params.push(filter.text.replace(/[\\%_]/g, '\\$&'));
      conditions.push(`(${this.db.containsText('agent_key', params.length)} OR ${this.db.containsText('room_id', params.length)})`);
    }
    if (filter.withFaults === true) conditions.push("EXISTS (SELECT 1 FROM faults WHERE faults.agent_key = agents.agent_key AND faults.state = 'raised')");
    return { where: conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '', params };
  }

  async getAgent(id: AgentKey, options: { healthSince?: Date } = {}): Promise<AgentDetail | null> {
    const [row] = await this.db.query<AgentDetailRowData>(`${AGENT_SUMMARY_SELECT}, inventory, inventory_at, system FROM agents WHERE agent_key = $1`, [id]);
    if (!row) return null;
    const since = options.healthSince?.getTime() ?? Date.now() - DEFAULT_HEALTH_WINDOW_MS;
    const faults = await this.db.query<FaultRowData>("SELECT * FROM faults WHERE agent_key = $1 AND state = 'raised'", [id]);
    const health = await this.db.query<HealthRowData>(
      'SELECT at, resolution, cpu_load, mem_available, disk_use_max, cpu_temp, outbox FROM health WHERE agent_key = $1 AND at >= $2 ORDER BY at, resolution',
      [id, since],
    );
    return {
      ...toSummary(row),
      devices: row.inventory === null ? [] : (JSON.parse(row.inventory) as Device[]),
      inventoryAt: row.inventory_at === null ? null : iso(row.inventory_at),
      system: row.system === null ? null : (JSON.parse(row.system) as SystemSnapshot),
      openFaults: faults.map(toFaultRecord).sort(byRaisedAt).map(toOpenFault),
      recentHealth: health.map(toHealthPoint),
    };
  }

  async events(id: AgentKey, options: { type?: AgentMessage['type']; limit?: number } = {}): Promise<StoredEvent[]> {
    const params: SqlValue[] = [id];
    let sql = 'SELECT event_id, agent_key, seq, type, at, received_at, payload FROM events WHERE agent_key = $1';
    if (options.type !== undefined) {
      params.push(options.type);
      sql += ` AND type = $${params.length}`;
    }
    // Events without a seq (status, last will) come after the numbered ones, in both dialects.
    sql += ' ORDER BY (seq IS NULL), seq, at, event_id';
    if (options.limit !== undefined) {
      if (!Number.isSafeInteger(options.limit) || options.limit < 0) {
        throw new AvcareError('INVALID_ARGUMENT', 'events limit must be a whole number >= 0', { limit: options.limit });
      }
      params.push(options.limit);
      sql += ` LIMIT $${params.length}`;
    }
    const rows = await this.db.query<EventRowData>(sql, params);
    return rows.map((row) => ({
      eventId: row.event_id,
      agentKey: row.agent_key as AgentKey,
      seq: row.seq,
      type: row.type,
      at: iso(row.at),
      receivedAt: iso(row.received_at),
      // Written by ingest() from a message that had passed agentMessageSchema.
      message: JSON.parse(row.payload) as AgentMessage,
    }));
  }

  async measurements(id: AgentKey, options: { since: Date; name?: string; limit: number }): Promise<StoredEvent[]> {
    const rows = await this.db.query<EventRowData>(
      "SELECT event_id, agent_key, seq, type, at, received_at, payload FROM events WHERE agent_key = $1 AND type = 'measurement' AND at >= $2 ORDER BY at, event_id",
      [id, options.since.getTime()],
    );
    const found: StoredEvent[] = [];
    for (const row of rows) {
      const message = JSON.parse(row.payload) as AgentMessage;
      // The name lives in the payload (both dialects keep JSON as text): filtered here, after the index did the rest.
      if (options.name !== undefined && (message.type !== 'measurement' || message.name !== options.name)) continue;
      found.push({ eventId: row.event_id, agentKey: row.agent_key as AgentKey, seq: row.seq, type: row.type, at: iso(row.at), receivedAt: iso(row.received_at), message });
      if (found.length >= options.limit) break;
    }
    return found;
  }

  async countEvents(): Promise<number> {
    const [row] = await this.db.query<{ count: number }>('SELECT COUNT(*) AS count FROM events');
    return row?.count ?? 0;
  }

  /**
   * Applies retention in four short transactions, each under the migration lock so that two
   * collectors never retire the same range, and each detaching at most one partitioned table (on
   * PostgreSQL, a detach locks its table until the commit). Raw health is folded into hourly
   * averages in the transaction that removes it, so a crash cannot fold an hour twice.
   */
  async prune(now: Date, policy: RetentionPolicy): Promise<PruneResult> {
    const cutoffs = retentionCutoffs(now, policy);
    const partitioned = this.db.name === 'postgres';
    const pruneStep = <T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> => this.db.transaction(work, { exclusive: true });
    const rawHealthFolded = await pruneStep(async (tx) => {
      await tx.execute(FOLD_RAW_HEALTH, [cutoffs.rawHealthBefore]);
      const retired = partitioned ? await retireRanges(tx, TIME_PARTITIONED.rawHealth, cutoffs.rawHealthBefore) : { rows: 0 };
      return retired.rows + (await tx.execute("DELETE FROM health WHERE resolution = 'raw' AND at < $1", [cutoffs.rawHealthBefore]));
    });
    const hourlyHealthDeleted = await pruneStep(async (tx) => {
      const retired = partitioned ? await retireRanges(tx, TIME_PARTITIONED.hourlyHealth, cutoffs.hourlyHealthBefore) : { rows: 0 };
      return retired.rows + (await tx.execute("DELETE FROM health WHERE resolution = 'hour' AND at < $1", [cutoffs.hourlyHealthBefore]));
    });
    const retiredEvents = partitioned ? await this.retireEventRanges(cutoffs, pruneStep) : 0;
    const eventsDeleted = await pruneStep(async (tx) => {
      const deleted = await tx.execute(
        `DELETE FROM events WHERE ((type = 'health' AND received_at < $1) OR (type <> 'health' AND received_at < $2)) AND NOT (${OPEN_FAULT_EVIDENCE})`,
        [cutoffs.healthEventsBefore, cutoffs.eventsBefore],
      );
      await tx.execute("DELETE FROM faults WHERE state = 'cleared' AND changed_at < $1", [cutoffs.eventsBefore]);
      return retiredEvents + deleted;
    });
    // New ranges after old ones went: the next day's exists before its first event arrives.
    if (partitioned) await this.ensureTimeRanges(now);
    if (partitioned && !(await this.autovacuumOn())) await this.db.executeScript('ANALYZE');
    const result = { rawHealthFolded, hourlyHealthDeleted, eventsDeleted };
    this.log.info({ ...result, now: now.toISOString() }, 'pruned store');
    return result;
  }

  /** Event ranges go whole; the rows retention keeps (received late, evidence of an open fault) move to the outside leaf. */
  private async retireEventRanges(cutoffs: RetentionCutoffs, pruneStep: <T>(work: (tx: SqlRunner) => Promise<T>) => Promise<T>): Promise<number> {
    const keep = (before: number) => ({ where: `received_at >= $1 OR ${OPEN_FAULT_EVIDENCE}`, params: [before] });
    const health = await pruneStep((tx) => retireRanges(tx, TIME_PARTITIONED.healthEvents, cutoffs.healthEventsBefore, keep(cutoffs.healthEventsBefore)));
    const other = await pruneStep((tx) => retireRanges(tx, TIME_PARTITIONED.otherEvents, cutoffs.eventsBefore, keep(cutoffs.eventsBefore)));
    if (health.names.length + other.names.length > 0) this.log.info({ dropped: [...health.names, ...other.names] }, 'dropped expired event partitions');
    return health.rows + other.rows;
  }

  /** PostgreSQL only: whether the server keeps statistics fresh by itself (it does unless its operator turned autovacuum off). */
  private async autovacuumOn(): Promise<boolean> {
    const [row] = await this.db.query<{ autovacuum: string }>("SELECT current_setting('autovacuum') AS autovacuum");
    return row?.autovacuum === 'on';
  }

  /** PostgreSQL only: the time ranges around `now` of every partitioned table exist (migration 0016). */
  private async ensureTimeRanges(now: Date): Promise<void> {
    const made = await this.db.transaction(async (tx) => {
      const names: string[] = [];
      for (const table of Object.values(TIME_PARTITIONED)) names.push(...(await ensureRanges(tx, table, now.getTime())));
      return names;
    }, { exclusive: true });
    if (made.length > 0) this.log.info({ made }, 'made time partitions');
  }

  /** Safe to call twice: shutdown paths (signal handler, test cleanup) often overlap. */
  close(): Promise<void> {
    this.closing ??= this.db.close();
    return this.closing;
  }

  /**
   * Faults go read-modify-write: their rules (late clears, reopening) are a pure function over
   * the stored state, and only the agents of this batch that sent faults are read.
   */
  private async writeFaults(tx: SqlRunner, fresh: readonly EventRow[]): Promise<Array<{ agentKey: string; code: string; deviceKey: string }>> {
    const faultEvents = fresh
      .filter((row): row is EventRow & { message: FaultMessage } => row.message.type === 'fault')
      .sort((a, b) => a.at - b.at);
    if (faultEvents.length === 0) return [];
    const agentKeys = [...new Set(faultEvents.map((row) => row.agentKey))];
    const stored = await tx.query<FaultRowData>(`SELECT * FROM faults WHERE ${this.db.inTextList('agent_key', 1)}${this.db.forUpdate}`, [this.db.textList(agentKeys)]);
    const faults = new Map<string, { agentKey: string; record: FaultRecord }>();
    for (const row of stored) faults.set(faultMapKey(row.agent_key, row.code, row.device_key), { agentKey: row.agent_key, record: toFaultRecord(row) });
    const changed = new Set<string>();
    for (const row of faultEvents) {
      const key = faultMapKey(row.agentKey, row.message.code, faultDeviceKey(row.message.deviceId));
      const current = faults.get(key)?.record;
      const next = applyFaultEvent(current, row.message, row.at);
      if (next && next !== current) {
        faults.set(key, { agentKey: row.agentKey, record: next });
        changed.add(key);
      }
    }
    const rows = [...changed].flatMap((key) => {
      const fault = faults.get(key);
      return fault ? [faultValues(fault.agentKey, fault.record)] : [];
    });
    await tx.insertMany({ table: 'faults', columns: FAULT_COLUMNS, rows, onConflict: FAULT_UPSERT });
    return [...changed].flatMap((key) => {
      const fault = faults.get(key);
      return fault ? [{ agentKey: fault.agentKey, code: fault.record.code, deviceKey: faultDeviceKey(fault.record.deviceId) }] : [];
    });
  }
}

/** Drops repeats of an eventId inside one batch (the first copy is the one kept). */
function uniqueEventRows(events: readonly AcceptedEvent[]): EventRow[] {
  const rows = new Map<string, EventRow>();
  for (const { message, receivedAt } of events) {
    if (rows.has(message.eventId)) continue;
    rows.set(message.eventId, {
      eventId: message.eventId,
      agentKey: agentKey(message.schoolId, message.agentId),
      seq: message.seq ?? null,
      at: Date.parse(message.at),
      receivedAt: receivedAt.getTime(),
      message,
    });
  }
  return [...rows.values()];
}

interface AgentUpdate {
  key: AgentKey;
  schoolId: string;
  agentId: string;
  roomId: string;
  lastSeenAt: number;
  lastSeq: number | null;
  status?: { at: number; state: 'online' | 'offline'; json: string };
  inventory?: { at: number; json: string; deviceCount: number };
  health?: { at: number; json: string };
  network?: { at: number; json: string };
  avsync?: { at: number; json: string };
}

/**
 * The newest of each kind per agent within the batch, so each agent is one row of one upsert
 * (PostgreSQL refuses to update a row twice in one statement); the upsert then compares it with
 * what is stored.
 */
function agentUpdates(fresh: readonly EventRow[]): AgentUpdate[] {
  const updates = new Map<AgentKey, AgentUpdate>();
  for (const row of fresh) {
    const { message, at } = row;
    let update = updates.get(row.agentKey);
    if (!update) {
      update = { key: row.agentKey, schoolId: message.schoolId, agentId: message.agentId, roomId: message.roomId, lastSeenAt: at, lastSeq: null };
      updates.set(row.agentKey, update);
    }
    if (at >= update.lastSeenAt) {
      update.lastSeenAt = at;
      update.roomId = message.roomId;
    }
    if (row.seq !== null && (update.lastSeq === null || row.seq > update.lastSeq)) update.lastSeq = row.seq;
    switch (message.type) {
      case 'status':
        if (!update.status || at > update.status.at || (at === update.status.at && message.state === 'offline')) {
          const status = message.reason === undefined ? { agentVersion: message.agentVersion } : { agentVersion: message.agentVersion, reason: message.reason };
          update.status = { at, state: message.state, json: JSON.stringify(status) };
        }
        break;
      case 'inventory':
        if (!update.inventory || at > update.inventory.at) update.inventory = { at, json: JSON.stringify(message.devices), deviceCount: message.devices.length };
        break;
      case 'health':
        if (!update.health || at > update.health.at) update.health = { at, json: JSON.stringify(message.system) };
        break;
      case 'measurement': {
        // The newest verdict of each test, for the fleet list: the verdict is the test's own words (meets-targets, imperceptible, ...).
        if (message.name !== 'network' && message.name !== 'avsync') break;
        const previous = message.name === 'network' ? update.network : update.avsync;
        if (previous && at <= previous.at) break;
        const latest = { at, json: JSON.stringify({ at: message.at, verdict: measurementVerdict(message.details), value: message.value, unit: message.unit }) };
        if (message.name === 'network') update.network = latest;
        else update.avsync = latest;
        break;
      }
      case 'fault':
      case 'report':
        break;
    }
  }
  // A fixed order of row locks, so two concurrent batches touching the same agents cannot deadlock.
  return [...updates.values()].sort((a, b) => compareText(a.key, b.key));
}

async function writeAgents(tx: SqlRunner, fresh: readonly EventRow[]): Promise<void> {
  const rows = agentUpdates(fresh).map((update): SqlValue[] => [
    update.key,
    update.schoolId,
    update.agentId,
    update.roomId,
    update.status?.state ?? 'unknown',
    update.status?.json ?? null,
    update.status?.at ?? null,
    update.lastSeenAt,
    update.lastSeq,
    update.inventory?.json ?? null,
    update.inventory?.at ?? null,
    update.inventory?.deviceCount ?? 0,
    update.health?.json ?? null,
    update.health?.at ?? null,
    update.network?.json ?? null,
    update.network?.at ?? null,
    update.avsync?.json ?? null,
    update.avsync?.at ?? null,
  ]);
  await tx.insertMany({ table: 'agents', columns: AGENT_COLUMNS, rows, onConflict: AGENT_UPSERT });
}

async function writeHealth(tx: SqlRunner, fresh: readonly EventRow[]): Promise<void> {
  const rows: SqlValue[][] = [];
  for (const row of fresh) {
    if (row.message.type !== 'health') continue;
    const { system, outbox } = row.message;
    const diskUseMax = system.disks.reduce((max, disk) => Math.max(max, disk.usePercent), 0);
    rows.push([
      row.agentKey,
      row.at,
      'raw',
      1,
      system.cpu.loadPercent,
      system.memory.availableBytes,
      diskUseMax,
      system.cpuTemperatureC,
      outbox === undefined ? null : JSON.stringify(outbox),
    ]);
  }
  await tx.insertMany({ table: 'health', columns: HEALTH_COLUMNS, rows });
}

function faultMapKey(agent: string, code: string, deviceKey: string): string {
  return JSON.stringify([agent, code, deviceKey]);
}

function faultValues(agent: string, fault: FaultRecord): SqlValue[] {
  return [
    agent,
    fault.code,
    faultDeviceKey(fault.deviceId),
    fault.state,
    fault.category,
    fault.severity,
    JSON.stringify({ deviceId: fault.deviceId, message: fault.message, messageKey: fault.messageKey, params: fault.params, evidence: fault.evidence }),
    fault.firstSeenAt,
    fault.raisedAt,
    fault.changedAt,
    fault.eventId,
  ];
}

function toFaultRecord(row: FaultRowData): FaultRecord {
  const detail = JSON.parse(row.detail) as { deviceId: string | null; message: string; messageKey?: string; params?: Record<string, string | number>; evidence: Record<string, unknown> };
  return {
    code: row.code,
    deviceId: detail.deviceId,
    state: row.state,
    category: row.category,
    severity: row.severity,
    message: detail.message,
    ...(detail.messageKey === undefined ? {} : { messageKey: detail.messageKey }),
    ...(detail.params === undefined ? {} : { params: detail.params }),
    evidence: detail.evidence,
    firstSeenAt: row.first_seen_at,
    raisedAt: row.raised_at,
    changedAt: row.changed_at,
    eventId: row.event_id,
  };
}

function byRaisedAt(a: FaultRecord, b: FaultRecord): number {
  return a.raisedAt - b.raisedAt || compareText(a.code, b.code) || compareText(faultDeviceKey(a.deviceId), faultDeviceKey(b.deviceId));
}

function toOpenFault(fault: FaultRecord): OpenFault {
  return {
    code: fault.code,
    deviceId: fault.deviceId,
    category: fault.category,
    severity: fault.severity,
    message: fault.message,
    ...(fault.messageKey === undefined ? {} : { messageKey: fault.messageKey, params: fault.params ?? {} }),
    evidence: fault.evidence,
    firstSeenAt: iso(fault.firstSeenAt),
    raisedAt: iso(fault.raisedAt),
    eventId: fault.eventId,
  };
}

function toSummary(row: AgentRowData): AgentSummary {
  const status = row.status === null ? null : (JSON.parse(row.status) as { agentVersion: string; reason?: string });
  return {
    id: row.agent_key as AgentKey,
    agentId: row.agent_id,
    schoolId: row.school_id,
    roomId: row.room_id,
    state: row.state as AgentState,
    stateReason: status?.reason ?? null,
    stateChangedAt: row.state_changed_at === null ? null : iso(row.state_changed_at),
    lastSeenAt: iso(row.last_seen_at),
    agentVersion: status?.agentVersion ?? null,
    deviceCount: row.device_count,
    openFaultCount: Number(row.open_fault_count),
    worstSeverity: row.worst_severity === null ? null : (SEVERITY_BY_RANK[Number(row.worst_severity)] ?? null),
    lastNetwork: row.last_network === null ? null : (JSON.parse(row.last_network) as LatestMeasurement),
    lastAvSync: row.last_avsync === null ? null : (JSON.parse(row.last_avsync) as LatestMeasurement),
  };
}

/** A test's verdict from its details: the result's own (network) or its summary's (A/V sync); the status when it did not finish. */
function measurementVerdict(details: Record<string, unknown> | undefined): string {
  const result = details?.['result'] as { verdict?: unknown; summary?: { verdict?: unknown } } | undefined;
  const verdict = result?.verdict ?? result?.summary?.verdict ?? details?.['status'];
  return typeof verdict === 'string' ? verdict : 'unknown';
}

function toHealthPoint(row: HealthRowData): HealthPoint {
  const point: HealthPoint = {
    at: iso(row.at),
    resolution: row.resolution,
    cpuLoadPercent: row.cpu_load,
    memoryAvailableBytes: row.mem_available,
    diskUsePercentMax: row.disk_use_max,
    cpuTemperatureC: row.cpu_temp,
  };
  if (row.outbox !== null) point.outbox = JSON.parse(row.outbox) as OutboxStats;
  return point;
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
