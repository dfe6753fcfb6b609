import { isAbsolute, resolve } from 'node:path';
import { AvcareError } from '../../protocol/errors.js';

/*
 * What a `--db` value may be, apart from opening it: the command-line files need these words and
 * checks without loading both database drivers (that is open-store.ts).
 */

export const ACCEPTED_STORE_SPECS = 'sqlite:PATH, sqlite::memory:, a path ending in .db, .sqlite or .sqlite3, or postgres://USER@HOST:PORT/DATABASE (also postgresql://)';

export type StoreTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/**
 * Reads a `--db` value. Relative SQLite paths are taken inside `dataDir` when one is given, so
 * `--data /var/lib/avcare --db sqlite:fleet.db` keeps everything in the data folder.
 */
export function parseStoreSpec(spec: string, dataDir?: string): StoreTarget {
  const trimmed = spec.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (trimmed === 'sqlite::memory:') return { dialect: 'sqlite', path: ':memory:' };
  const lower = trimmed.toLowerCase();
  let path: string | undefined;
  if (lower.startsWith('sqlite:')) path = trimmed.slice('sqlite:'.length);
  else if (!trimmed.includes('://') && /\.(db|sqlite|sqlite3)$/i.test(trimmed)) path = trimmed;
  if (path === undefined || path.length === 0) {
    throw new AvcareError('INVALID_ARGUMENT', `unknown database "${redactSpec(trimmed)}": use ${ACCEPTED_STORE_SPECS}`, { spec: redactSpec(trimmed) });
  }
  return { dialect: 'sqlite', path: isAbsolute(path) || dataDir === undefined ? resolve(path) : resolve(dataDir, path) };
}

/** A spec may carry a password (postgres://user:secret@host/db): it never reaches a message or a log. */
export function redactSpec(spec: string): string {
  try {
    const url = new URL(spec);
    if (url.password) url.password = '***';
    return url.protocol === 'sqlite:' ? spec : url.toString();
  } catch (error) {
    if (error instanceof TypeError) return spec.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
    throw error;
  }
}
