import type { SqlRunner } from './dialect.js';

const DAY_MS = 86_400_000;

/**
 * A PostgreSQL table partitioned by ranges of `at` (migration 0016). Ranges lie on a fixed grid
 * from the epoch, `widthMs` wide, so every process computes the same ones and a name says which.
 */
export interface TimePartitionedTable {
  /** The partitioned table whose leaves are the ranges; its default leaf is `<parent>_outside`. */
  readonly parent: string;
  readonly widthMs: number;
}

/** Raw rows by day (kept for days), the rest by week (kept for months). */
export const TIME_PARTITIONED = {
  healthEvents: { parent: 'events_health', widthMs: DAY_MS },
  otherEvents: { parent: 'events_other', widthMs: 7 * DAY_MS },
  rawHealth: { parent: 'health_raw', widthMs: DAY_MS },
  hourlyHealth: { parent: 'health_hourly', widthMs: 7 * DAY_MS },
} as const satisfies Record<string, TimePartitionedTable>;

export interface TimeRange {
  readonly name: string;
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
}

/** How many ranges before and after the one holding `now` exist at any time. */
export interface Coverage {
  readonly behind: number;
  readonly ahead: number;
}

/** One range behind for a late batch, two ahead so an hourly maintainer that skips a day still finds one ready. */
export const DEFAULT_COVERAGE: Coverage = { behind: 1, ahead: 2 };

export function outsidePartition(table: TimePartitionedTable): string {
  return `${table.parent}_outside`;
}

/** `events_health_20261207`: the parent and the UTC day the range starts. */
export function rangeName(table: TimePartitionedTable, from: number): string {
  return `${table.parent}_${new Date(from).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The ranges that should exist around `now`, oldest first. */
export function rangesAround(table: TimePartitionedTable, now: number, coverage: Coverage = DEFAULT_COVERAGE): TimeRange[] {
  const current = Math.floor(now / table.widthMs) * table.widthMs;
  const ranges: TimeRange[] = [];
  for (let step = -coverage.behind; step <= coverage.ahead; step += 1) {
    const from = current + step * table.widthMs;
    ranges.push({ name: rangeName(table, from), from, to: from + table.widthMs });
  }
  return ranges;
}

/** Reads `FOR VALUES FROM ('1765065600000') TO ('1765152000000')`; null for the default leaf. */
export function parseRangeBound(bound: string): { from: number; to: number } | null {
  const match = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(bound);
  if (!match) return null;
  return { from: Number(match[1]), to: Number(match[2]) };
}

/** The range leaves of `table` as they are in the database, oldest first. */
export async function existingRanges(db: SqlRunner, table: TimePartitionedTable): Promise<TimeRange[]> {
  const rows = await db.query<{ name: string; bound: string }>(
    `SELECT child.relname AS name, pg_get_expr(child.relpartbound, child.oid) AS bound
     FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
     WHERE pg_inherits.inhparent = $1::regclass`,
    [table.parent],
  );
  const ranges: TimeRange[] = [];
  for (const row of rows) {
    const bound = parseRangeBound(row.bound);
    if (bound) ranges.push({ name: row.name, ...bound });
  }
  return ranges.sort((a, b) => a.from - b.from);
}

/**
 * Makes the missing ranges around `now`. Rows already in the outside leaf for a new range (the
 * backlog of the migration, a clock that ran ahead) move into it first: PostgreSQL refuses a
 * range whose rows sit in the default leaf. Run it under the migration lock, so two collectors
 * never make the same range.
 */
export async function ensureRanges(db: SqlRunner, table: TimePartitionedTable, now: number, coverage: Coverage = DEFAULT_COVERAGE): Promise<string[]> {
  const existing = await existingRanges(db, table);
  const made: string[] = [];
  for (const range of rangesAround(table, now, coverage)) {
    if (existing.some((other) => other.from < range.to && range.from < other.to)) continue;
    await db.executeScript(`CREATE TABLE ${range.name} (LIKE ${table.parent} INCLUDING DEFAULTS)`);
    await db.execute(
      `WITH moved AS (DELETE FROM ${outsidePartition(table)} WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO ${range.name} SELECT * FROM moved`,
      [range.from, range.to],
    );
    await db.executeScript(`ALTER TABLE ${table.parent} ATTACH PARTITION ${range.name} FOR VALUES FROM (${range.from}) TO (${range.to})`);
    made.push(range.name);
  }
  return made;
}

export interface RetiredRanges {
  readonly names: string[];
  /** Rows that went with them (those kept are not counted). */
  readonly rows: number;
}

/**
 * Drops every range that ends at or before `before`. The rows that retention keeps although their
 * range has gone (`keep`, a condition on the leaf's columns: received late, evidence of an open
 * fault) are first inserted again through the parent, which now routes them to the outside leaf.
 * Runs inside the caller's transaction: detaching locks the parent until it commits.
 */
export async function retireRanges(
  db: SqlRunner,
  table: TimePartitionedTable,
  before: number,
  keep?: { where: string; params: readonly (string | number)[] },
): Promise<RetiredRanges> {
  const names: string[] = [];
  let rows = 0;
  for (const range of await existingRanges(db, table)) {
    if (range.to > before) continue;
    const [count] = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${range.name}`);
    await db.executeScript(`ALTER TABLE ${table.parent} DETACH PARTITION ${range.name}`);
    const kept = keep ? await db.execute(`INSERT INTO ${table.parent} SELECT * FROM ${range.name} WHERE ${keep.where}`, keep.params) : 0;
    await db.executeScript(`DROP TABLE ${range.name}`);
    names.push(range.name);
    rows += Number(count?.n ?? 0) - kept;
  }
  return { names, rows };
}
