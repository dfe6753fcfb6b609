import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import { nextMessage, simulatedFleet } from '../bench/telemetry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { accepted, T0 } from './store-messages.js';
import { storeSuite } from './store-suite.js';

storeSuite('PostgreSQL', async () => {
  const database = await createTestDatabase();
  return { spec: database.url, cleanup: () => database.drop() };
});

describe('PostgreSQL and SQLite', () => {
  let database: TestDatabase;
  let stores: Store[];

  beforeAll(async () => {
    database = await createTestDatabase();
    stores = [await openStore('sqlite::memory:'), await openStore(database.url)];
    for (const store of stores) await store.migrate();
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    await database.drop();
  });

  it('return identical results for the same simulated fleet traffic, replays and prune', async () => {
    const fleet = simulatedFleet(30, 10);
    // Shuffled delivery (a fixed permutation) with every tenth batch replayed, as after reconnects.
    const messages = Array.from({ length: 3000 }, (_, index) => {
      const agent = fleet[(index * 7) % fleet.length];
      if (!agent) throw new Error('fleet is empty');
      return nextMessage(agent, index, new Date(T0 + ((index * 7919) % 3000) * 60_000)).message;
    });
    const batches = Array.from({ length: 30 }, (_, index) => messages.slice(index * 100, index * 100 + 100).map((message) => accepted(message)));
    const observe = async (store: Store) => {
      const results = [];
      for (const [index, batch] of batches.entries()) {
        results.push(await store.ingest(batch));
        if (index % 10 === 9) results.push(await store.ingest(batch));
      }
      const agents = await store.listAgents();
      const details = await Promise.all(agents.map((agent) => store.getAgent(agent.id, { healthSince: new Date(T0) })));
      const events = await Promise.all(agents.map((agent) => store.events(agent.id)));
      const prune = await store.prune(new Date(T0 + 20 * 86_400_000), { rawHealthDays: 18, hourlyHealthDays: 30, eventDays: 19 });
      const afterPrune = await Promise.all(agents.map((agent) => store.getAgent(agent.id, { healthSince: new Date(T0) })));
      return { results, agents, details, events, prune, afterPrune, count: await store.countEvents() };
    };
    const [sqlite, postgres] = [await observe(stores[0] as Store), await observe(stores[1] as Store)];
    expect(sqlite.agents).toHaveLength(30);
    expect(sqlite.prune.rawHealthFolded).toBeGreaterThan(0);
    expect(postgres).toEqual(sqlite);
  });
});
