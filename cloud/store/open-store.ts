import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '../../protocol/log.js';
import { AvcareError } from '../../protocol/index.js';
import { PostgresDialect } from './postgres-dialect.js';
import { SqlStore } from './sql-store.js';
import { SqliteDialect } from './sqlite-dialect.js';
import type { Store } from './store.js';
import { parseStoreSpec, redactSpec } from './store-spec.js';

/**
 * Opens the store a spec names. It does not migrate: callers run `store.migrate()` (safe on every
 * start), so a read-only tool can open a database without changing it. `existing`: a tool that
 * reads a cloud's database (audit, recovery) must not create an empty one where there is none, so
 * a SQLite file that is not there is an error naming where it looked.
 */
export async function openStore(spec: string, options: { dataDir?: string; log?: Logger; existing?: boolean } = {}): Promise<Store> {
  const log = (options.log ?? silentLogger).child({ module: 'store' });
  const target = parseStoreSpec(spec, options.dataDir);
  if (target.dialect === 'sqlite') {
    if (options.existing && target.path !== ':memory:' && !existsSync(target.path)) {
      throw new AvcareError('STORE_UNAVAILABLE', `there is no avcare database at ${target.path}`, { path: target.path }, {
        hint: "Run this on the cloud's machine with --data naming the cloud's data folder (where avcare-cloud start keeps avcare.db; ./avcare-data by default) or --db its database; from another machine, audit export reads through the API with --url.",
      });
    }
    return new SqlStore(openSqlite(target.path), log);
  }

  const dialect = PostgresDialect.open(target.url, log);
  try {
    // Fail at start with the server named, not at the first batch.
    await dialect.query('SELECT 1');
  } catch (error) {
    await dialect.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new AvcareError('STORE_UNAVAILABLE', `cannot connect to PostgreSQL at ${redactSpec(target.url)}: ${reason}`, { spec: redactSpec(target.url) }, { cause: error });
  }
  return new SqlStore(dialect, log);
}

function openSqlite(path: string): SqliteDialect {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    return SqliteDialect.open(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AvcareError('STATE_UNWRITABLE', `cannot open SQLite database ${path}: ${reason}`, { path }, { cause: error });
  }
}

