import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../../protocol/index.js';
import { openStore } from './open-store.js';
import { parseStoreSpec, redactSpec } from './store-spec.js';

describe('parseStoreSpec', () => {
  it('accepts sqlite:PATH, sqlite::memory:, bare .db/.sqlite paths and postgres URLs', () => {
    expect(parseStoreSpec('sqlite:/var/lib/avcare/fleet.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/avcare/fleet.db' });
    expect(parseStoreSpec('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseStoreSpec('fleet.sqlite', '/data')).toEqual({ dialect: 'sqlite', path: '/data/fleet.sqlite' });
    expect(parseStoreSpec('sqlite:fleet.db')).toEqual({ dialect: 'sqlite', path: resolve('fleet.db') });
    expect(parseStoreSpec('/abs/fleet.DB', '/data')).toEqual({ dialect: 'sqlite', path: '/abs/fleet.DB' });
    expect(parseStoreSpec('postgres://avcare@db:5432/avcare')).toEqual({ dialect: 'postgres', url: 'postgres://avcare@db:5432/avcare' });
    expect(parseStoreSpec('postgresql://db/avcare')).toEqual({ dialect: 'postgres', url: 'postgresql://db/avcare' });
  });

  it('refuses anything else with INVALID_ARGUMENT naming the accepted forms and hiding a password', () => {
    for (const spec of ['mysql://root:hunter2@db/avcare', 'fleet.txt', 'sqlite:', '']) {
      let caught: unknown;
      try {
        parseStoreSpec(spec);
      } catch (error) {
        caught = error;
      }
      expect(isAvcareError(caught) && caught.code).toBe('INVALID_ARGUMENT');
      expect(String(caught)).toContain('sqlite:PATH');
      expect(String(caught)).not.toContain('hunter2');
    }
  });
});

describe('redactSpec', () => {
  it('replaces the password of a URL and leaves other specs alone', () => {
    expect(redactSpec('postgres://avcare:s3cret@db:5432/avcare')).toBe('postgres://avcare:***@db:5432/avcare');
    expect(redactSpec('sqlite:/tmp/a.db')).toBe('sqlite:/tmp/a.db');
  });
});

describe('openStore', () => {
  it('creates the folder of a SQLite file inside the data folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-open-'));
    try {
      const store = await openStore('sqlite:nested/fleet.db', { dataDir: dir });
      await store.migrate();
      expect(store.dialect).toBe('sqlite');
      expect(await store.countEvents()).toBe(0);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a SQLite file that cannot be created as STATE_UNWRITABLE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-open-'));
    try {
      // A regular file where the database folder should be.
      writeFileSync(join(dir, 'blocker'), '');
      await expect(openStore(`sqlite:${join(dir, 'blocker', 'fleet.db')}`)).rejects.toMatchObject({ code: 'STATE_UNWRITABLE' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreachable PostgreSQL server as STORE_UNAVAILABLE without its password', async () => {
    const error: unknown = await openStore('postgres://avcare:s3cret@127.0.0.1:1/avcare').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(String(error)).toContain('127.0.0.1:1');
    expect(String(error)).not.toContain('s3cret');
  });
});
