import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ticketEngineSuite } from './ticket-engine-suite.js';

ticketEngineSuite('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-tickets-'));
  return Promise.resolve({ spec: `sqlite:${join(dir, 'tickets.db')}`, cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
});
