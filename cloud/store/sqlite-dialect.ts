import Database from 'better-sqlite3';
import { AvcareError } from '../../protocol/index.js';
import type { BulkInsert, Dialect, Row, SqlParam, SqlRunner, SqlValue } from './dialect.js';

type Statement = Database.Statement<unknown[], unknown>;

/** Orders the calls on one database file within this process. */
interface Lane {
  tail: Promise<unknown>;
}

/**
 * Shared by every connection this process opens on one file: better-sqlite3 blocks the event loop
 * while BEGIN IMMEDIATE waits for the write lock, so a second connection waiting on a first one
 * that needs the event loop to finish its transaction would wait out busy_timeout and fail.
 */
const lanes = new Map<string, Lane>();

/**
 * SQLite through better-sqlite3. Calls are synchronous, so the only concurrency to handle is
 * between the awaits of one async caller and another: `serialised()` queues every call, and a
 * transaction holds the queue until it commits, so a read never sees another caller's
 * half-written batch and two batches never interleave on the one connection.
 */
export class SqliteDialect implements Dialect {
  readonly name = 'sqlite';
  readonly forUpdate = '';
  private readonly statements = new Map<string, Statement>();
  private readonly direct: SqlRunner;

  constructor(
    private readonly db: Database.Database,
    private readonly lane: Lane = { tail: Promise.resolve() },
  ) {
    this.direct = {
      query: (sql, params) => Promise.resolve(this.all(sql, params)),
      execute: (sql, params) => Promise.resolve(this.run(sql, params)),
      insertMany: (insert) => Promise.resolve(this.insertRows(insert)),
      executeScript: (sql) => Promise.resolve(void this.db.exec(sql)),
    };
  }

  /**
   * WAL with synchronous=NORMAL: a commit is in the WAL file (written, not fsynced) before
   * COMMIT returns, so a killed process (the collector-kill test, a crash) loses nothing; only a
   * power cut can lose the last commits, and then the broker or the agent's outbox still holds
   * those messages because the collector acknowledges only after the commit. `FULL` would add an
   * fsync per batch for the power-cut case. busy_timeout lets a second process (a migration, a
   * CLI reading the file) wait for the write lock instead of failing at once.
   */
  static open(path: string): SqliteDialect {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    if (path === ':memory:') return new SqliteDialect(db);
    let lane = lanes.get(path);
    if (!lane) {
      lane = { tail: Promise.resolve() };
      lanes.set(path, lane);
    }
    return new SqliteDialect(db, lane);
  }

  query<R = Row>(sql: string, params?: readonly SqlParam[]): Promise<R[]> {
    return this.serialised(() => this.all<R>(sql, params));
  }

  execute(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.serialised(() => this.run(sql, params));
  }

  insertMany(insert: BulkInsert): Promise<SqlValue[]> {
    return this.serialised(() => this.insertRows(insert));
  }

  executeScript(sql: string): Promise<void> {
    return this.serialised(() => void this.db.exec(sql));
  }

  byCodePoint(column: string): string {
    // SQLite's default collation compares bytes, and UTF-8 byte order is code point order.
    return column;
  }

  containsText(column: string, param: number): string {
    return `${column} LIKE '%' || $${param} || '%' ESCAPE '\\'`;
  }

  inTextList(column: string, param: number): string {
    return `${column} IN (SELECT value FROM json_each($${param}))`;
  }

  textList(values: readonly string[]): SqlParam {
    return JSON.stringify(values);
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.serialised(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        // SQLite may already have rolled back (e.g. SQLITE_FULL); a second ROLLBACK would throw and hide the cause.
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  close(): Promise<void> {
    return this.serialised(() => {
      this.statements.clear();
      if (this.db.open) this.db.close();
    });
  }

  private serialised<T>(work: () => T | Promise<T>): Promise<T> {
    const result = this.lane.tail.then(work);
    // The lane only orders calls; each caller gets its own outcome (including errors) from `result`.
    this.lane.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private all<R>(sql: string, params: readonly SqlParam[] = []): R[] {
    const statement = this.prepare(sql);
    return (params.length === 0 ? statement.all() : statement.all(bind(params))) as R[];
  }

  private run(sql: string, params: readonly SqlParam[] = []): number {
    const statement = this.prepare(sql);
    return (params.length === 0 ? statement.run() : statement.run(bind(params))).changes;
  }

  private insertRows(insert: BulkInsert): SqlValue[] {
    if (insert.rows.length === 0) return [];
    const columns = insert.columns.map((column) => column.name);
    const sql = `INSERT INTO ${insert.table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${insert.onConflict ?? ''}`;
    const statement = this.prepare(sql);
    if (!insert.returning) {
      for (const row of insert.rows) statement.run(row);
      return [];
    }
    // RETURNING would build a result row per insert; a row is written exactly when run() reports a
    // change, and the returned column is one of the values bound (about 10 % of ingest time).
    const returnedIndex = columns.indexOf(insert.returning);
    if (returnedIndex === -1) {
      throw new AvcareError('INVALID_ARGUMENT', `cannot return ${insert.returning}: it is not a column of this insert`, { table: insert.table });
    }
    const returned: SqlValue[] = [];
    for (const row of insert.rows) {
      if (statement.run(row).changes > 0) returned.push(row[returnedIndex] ?? null);
    }
    return returned;
  }
}

/** `$1`-style placeholders are SQLite named parameters "1", "2", ...: bind them by name. */
function bind(params: readonly SqlParam[]): Record<string, SqlValue> {
  const named: Record<string, SqlValue> = {};
  params.forEach((value, index) => {
    if (Array.isArray(value)) {
      throw new AvcareError('INVALID_ARGUMENT', 'SQLite cannot bind a list; build it with textList()', { parameter: index + 1 });
    }
    named[String(index + 1)] = value as SqlValue;
  });
  return named;
}
