import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeSuite } from './store-suite.js';

storeSuite('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-store-'));
  return Promise.resolve({
    spec: `sqlite:${join(dir, 'fleet.db')}`,
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
});
