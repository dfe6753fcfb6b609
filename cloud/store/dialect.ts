/**
 * The small per-dialect part of the store: how a statement is run, how a batch of rows is
 * inserted in one go, how a list is bound as one parameter, and how a transaction is taken.
 * Everything else (the SQL of the query layer, the migrations) is written once, in the subset both
 * SQLite and PostgreSQL accept: `$1` placeholders, `ON CONFLICT ... DO UPDATE SET x = excluded.x`,
 * `CASE` instead of GREATEST/MAX, epoch milliseconds in BIGINT, JSON in TEXT.
 */

export type SqlValue = string | number | null;
/** Column types of a bulk insert: PostgreSQL types its `unnest` arrays with them. */
export type ColumnType = 'text' | 'bigint' | 'double';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** A bound parameter: a value, or a list made by `Dialect.textList()`. */
export type SqlParam = SqlValue | readonly SqlValue[];

export interface BulkInsert {
  readonly table: string;
  readonly columns: readonly Column[];
  readonly rows: readonly (readonly SqlValue[])[];
  /** An `ON CONFLICT ...` clause, written once for both dialects. */
  readonly onConflict?: string;
  /** One of `columns`, returned for every row actually written (e.g. the event ids that were new). */
  readonly returning?: string;
}

export type Row = Record<string, unknown>;

/** What a statement can run on: the dialect itself, or the connection of an open transaction. */
export interface SqlRunner {
  query<R = Row>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /** Inserts many rows with one multi-row statement (PostgreSQL) or one reused prepared statement (SQLite). */
  insertMany(insert: BulkInsert): Promise<SqlValue[]>;
  /** Runs a script of several statements without parameters (migrations). */
  executeScript(sql: string): Promise<void>;
}

export interface Dialect extends SqlRunner {
  readonly name: 'sqlite' | 'postgres';
  /** `column` is one of the strings bound at `$param` by `textList()`. */
  inTextList(column: string, param: number): string;
  textList(values: readonly string[]): SqlParam;
  /** `column` compared by code point, the same on both (PostgreSQL otherwise sorts by the database's locale): for ORDER BY. */
  byCodePoint(column: string): string;
  /** `column` contains the text bound at `$param`, without regard to ASCII case (LIKE's wildcards in the text are literal). */
  containsText(column: string, param: number): string;
  /** Row locks for a read-modify-write inside a transaction; SQLite's write lock already covers the whole file. */
  readonly forUpdate: string;
  /**
   * Runs `work` in one transaction. Every transaction takes the write lock at its start (SQLite
   * BEGIN IMMEDIATE) so two writers never deadlock upgrading a read lock; `exclusive` also takes
   * the one cluster-wide advisory lock on PostgreSQL, for work that must not run twice at once
   * (migrations).
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>, options?: { exclusive?: boolean }): Promise<T>;
  close(): Promise<void>;
}
