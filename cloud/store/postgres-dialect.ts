import pg from 'pg';
import type { Logger } from '../../protocol/log.js';
import type { BulkInsert, ColumnType, Dialect, Row, SqlParam, SqlRunner, SqlValue } from './dialect.js';

/** Key of the advisory lock that serialises migrations across every process using the database. */
export const MIGRATION_LOCK_KEY = 0x61766361; // "avca"

const INT8_OID = 20;

const ARRAY_TYPES: Record<ColumnType, string> = { text: 'text[]', bigint: 'bigint[]', double: 'double precision[]' };

/**
 * BIGINT columns hold epoch milliseconds and counts, all below 2^53; pg returns int8 as a string
 * by default (it cannot know that), which would make PostgreSQL rows differ from SQLite's.
 */
const parseInt8 = (value: string): number => Number(value);
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format: 'text' | 'binary' = 'text'): unknown =>
    oid === INT8_OID ? parseInt8 : (pg.types.getTypeParser(oid, format) as unknown)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * PostgreSQL through a pg.Pool: a batch is one INSERT over `unnest` arrays, not one round trip per
 * row. A multi-row VALUES statement measured no faster here (within noise) and has a different text
 * per batch size plus a 65,535-parameter ceiling.
 */
export class PostgresDialect implements Dialect {
  readonly name = 'postgres';
  readonly forUpdate = ' FOR UPDATE';
  private readonly runner: SqlRunner;

  constructor(private readonly pool: pg.Pool) {
    this.runner = runnerFor(pool);
  }

  static open(connectionString: string, log: Logger): PostgresDialect {
    const pool = new pg.Pool({ connectionString, types, max: 8 });
    // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process.
    pool.on('error', (error) => log.warn({ err: error.message }, 'idle PostgreSQL connection failed; the pool replaces it'));
    return new PostgresDialect(pool);
  }

  query<R = Row>(sql: string, params?: readonly SqlParam[]): Promise<R[]> {
    return this.runner.query<R>(sql, params);
  }

  execute(sql: string, params?: readonly SqlParam[]): Promise<number> {
    return this.runner.execute(sql, params);
  }

  insertMany(insert: BulkInsert): Promise<SqlValue[]> {
    return this.runner.insertMany(insert);
  }

  executeScript(sql: string): Promise<void> {
    return this.runner.executeScript(sql);
  }

  byCodePoint(column: string): string {
    return `${column} COLLATE "C"`;
  }

  containsText(column: string, param: number): string {
    return `${column} ILIKE '%' || $${param} || '%' ESCAPE '\\'`;
  }

  inTextList(column: string, param: number): string {
    return `${column} = ANY($${param}::text[])`;
  }

  textList(values: readonly string[]): SqlParam {
    return values;
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>, options: { exclusive?: boolean } = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (options.exclusive) await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const result = await work(runnerFor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        // The connection itself failed: it must not go back into the pool. The original error is the one to report.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

const statementNames = new Map<string, string>();

/** Names a fixed statement so each pooled connection parses and plans it once. */
function named(text: string, values: readonly SqlParam[]): pg.QueryConfig<SqlParam[]> {
  let name = statementNames.get(text);
  if (!name) {
    name = `avcare_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return { name, text, values: [...values] };
}

function runnerFor(target: pg.Pool | pg.PoolClient): SqlRunner {
  return {
    async query<R = Row>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
      const result = await target.query<Row, SqlParam[]>(named(sql, params));
      // The caller names the columns it selected; pg cannot check them either.
      return result.rows as R[];
    },
    async execute(sql: string, params: readonly SqlParam[] = []): Promise<number> {
      const result = await target.query(named(sql, params));
      return result.rowCount ?? 0;
    },
    async insertMany(insert: BulkInsert): Promise<SqlValue[]> {
      if (insert.rows.length === 0) return [];
      const columns = insert.columns.map((column) => column.name).join(', ');
      const arrays = insert.columns.map((column, index) => `$${index + 1}::${ARRAY_TYPES[column.type]}`).join(', ');
      const sql = [
        `INSERT INTO ${insert.table} (${columns}) SELECT * FROM unnest(${arrays})`,
        insert.onConflict ?? '',
        insert.returning ? `RETURNING ${insert.returning}` : '',
      ].join(' ');
      // One array per column: the statement text is the same for any batch size, so it is prepared once per connection.
      const values = insert.columns.map((_column, index) => insert.rows.map((row) => row[index] ?? null));
      const result = await target.query<Record<string, SqlValue>>(named(sql, values));
      const key = insert.returning;
      return key ? result.rows.map((row) => row[key] ?? null) : [];
    },
    async executeScript(sql: string): Promise<void> {
      // No parameters: pg sends it as a simple query, which may hold several statements.
      await target.query(sql);
    },
  };
}
