import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import { SqlWebhookQueue } from '../../cloud/webhooks/sql-webhook-queue.js';
import type { NewWebhookDelivery } from '../../cloud/webhooks/webhook-queue.js';
import { createTestDatabase } from '../helpers/postgres.js';

const T0 = new Date('2025-03-03T08:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const ids = (deliveries: { id: string }[]) => deliveries.map((each) => each.id);

function delivery(id: string, endpointId: string, createdAtMs: number, eventId = `evt-${id}`): NewWebhookDelivery {
  return { id, endpointId, eventId, eventType: 'ticket.opened', body: `{"id":"${eventId}"}`, createdAt: at(createdAtMs) };
}

const BACKENDS = [
  { name: 'SQLite', open: () => Promise.resolve({ spec: `sqlite:${join(mkdtempSync(join(tmpdir(), 'avcare-webhooks-')), 'q.db')}`, drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    open: async () => {
      const database = await createTestDatabase();
      return { spec: database.url, drop: () => database.drop() };
    },
  },
];

/** The contract of WebhookQueue (MemoryWebhookQueue's tests state it) kept by the SQL outbox on both databases. */
for (const backend of BACKENDS) {
  describe(`SqlWebhookQueue on ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    beforeEach(async () => {
      const target = await backend.open();
      drop = target.drop;
      store = await openStore(target.spec);
      await store.migrate();
    });

    afterEach(async () => {
      await store.close();
      await drop();
    });

    async function queueWith(deliveries: NewWebhookDelivery[], leaseMs = 60_000): Promise<SqlWebhookQueue> {
      const queue = new SqlWebhookQueue({ db: store.database, leaseMs });
      await store.database.transaction((tx) => queue.enqueue(tx, deliveries));
      return queue;
    }

    it('hands out only the oldest pending delivery of each endpoint, oldest first, up to the limit', async () => {
      const queue = await queueWith([delivery('b1', 'b', 20), delivery('a1', 'a', 10), delivery('a2', 'a', 30), delivery('c1', 'c', 40)]);
      expect(ids(await queue.claimDue(at(100), 2))).toEqual(['a1', 'b1']);
      expect(ids(await queue.claimDue(at(100), 10))).toEqual(['c1']);
    });

    it('holds back later deliveries while the oldest waits for its retry, and lets them go once it is delivered or given up', async () => {
      const queue = await queueWith([delivery('a1', 'a', 0), delivery('a2', 'a', 1), delivery('a3', 'a', 2)]);
      expect(await queue.claimDue(at(-1), 10)).toEqual([]);
      await queue.claimDue(at(10), 10);
      await queue.markFailed('a1', { at: at(10), attempts: 1, nextAttemptAt: at(5_000), error: 'HTTP 503', status: 503 });
      expect(await queue.claimDue(at(4_999), 10)).toEqual([]);
      expect(await queue.claimDue(at(5_000), 10)).toMatchObject([{ id: 'a1', attempts: 1, nextAttemptAt: at(5_000) }]);
      await queue.markDelivered('a1', at(5_001), 204);
      expect(ids(await queue.claimDue(at(5_001), 10))).toEqual(['a2']);
      await queue.markFailed('a2', { at: at(5_002), attempts: 1, nextAttemptAt: null, error: 'HTTP 410', status: 410 });
      expect(ids(await queue.claimDue(at(5_002), 10))).toEqual(['a3']);
      expect(await queue.counts()).toEqual({ pending: 1, delivered: 1, 'given-up': 1 });
    });

    it('treats a claim as a lease, and hands out only the endpoints named', async () => {
      const queue = await queueWith([delivery('a1', 'a', 0), delivery('b1', 'b', 1)], 1_000);
      expect(ids(await queue.claimDue(at(0), 10, ['a']))).toEqual(['a1']);
      expect(await queue.claimDue(at(999), 10, ['a'])).toEqual([]);
      expect(await queue.claimDue(at(999), 10, [])).toEqual([]);
      expect(ids(await queue.claimDue(at(1_000), 10))).toEqual(['a1', 'b1']);
    });

    it('queues an event once per endpoint and keeps a late failure from undoing a delivery', async () => {
      const queue = await queueWith([delivery('a1', 'a', 0, 'evt-1'), delivery('b1', 'b', 0, 'evt-1')]);
      await store.database.transaction((tx) => queue.enqueue(tx, [delivery('a1-again', 'a', 5, 'evt-1')]));
      expect(await queue.counts()).toEqual({ pending: 2, delivered: 0, 'given-up': 0 });
      await queue.markDelivered('a1', at(5), 200);
      await queue.markFailed('a1', { at: at(6), attempts: 1, nextAttemptAt: at(100), error: 'timeout after 10000 ms' });
      expect(await queue.counts()).toEqual({ pending: 1, delivered: 1, 'given-up': 0 });
    });
  });
}
