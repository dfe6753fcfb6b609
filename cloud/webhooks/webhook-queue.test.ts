import { describe, expect, it } from 'vitest';
import { MemoryWebhookQueue, type NewWebhookDelivery } from './webhook-queue.js';

const T0 = new Date('2025-03-03T08:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function delivery(id: string, endpointId: string, createdAtMs: number, eventId = `evt-${id}`): NewWebhookDelivery {
  return { id, endpointId, eventId, eventType: 'ticket.opened', body: `{"id":"${eventId}"}`, createdAt: at(createdAtMs) };
}

async function queueWith(deliveries: NewWebhookDelivery[], leaseMs = 60_000): Promise<MemoryWebhookQueue> {
  const queue = new MemoryWebhookQueue({ leaseMs });
  await queue.enqueue(deliveries);
  return queue;
}

const ids = (deliveries: { id: string }[]) => deliveries.map((each) => each.id);

describe('MemoryWebhookQueue', () => {
  it('hands out only the oldest pending delivery of each endpoint, oldest endpoints first, up to the limit', async () => {
    const queue = await queueWith([delivery('b1', 'b', 20), delivery('a1', 'a', 10), delivery('a2', 'a', 30), delivery('c1', 'c', 40)]);
    expect(ids(await queue.claimDue(at(100), 2))).toEqual(['a1', 'b1']);
    // a1 and b1 are claimed; a2 waits behind a1 even though it is due.
    expect(ids(await queue.claimDue(at(100), 10))).toEqual(['c1']);
  });

  it('does not hand out a delivery before it is due', async () => {
    const queue = await queueWith([delivery('a1', 'a', 10)]);
    expect(await queue.claimDue(at(9), 10)).toEqual([]);
    expect(ids(await queue.claimDue(at(10), 10))).toEqual(['a1']);
  });

  it('holds back an endpoint\'s later deliveries while its oldest waits for a retry', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0), delivery('a2', 'a', 1), delivery('b1', 'b', 2)]);
    await queue.claimDue(at(10), 10);
    await queue.markFailed('a1', { at: at(10), attempts: 1, nextAttemptAt: at(5_000), error: 'HTTP 503', status: 503 });
    await queue.markDelivered('b1', at(10), 200);
    expect(await queue.claimDue(at(4_999), 10)).toEqual([]);
    const [retry] = await queue.claimDue(at(5_000), 10);
    expect(retry).toMatchObject({ id: 'a1', attempts: 1, nextAttemptAt: at(5_000) });
    await queue.markDelivered('a1', at(5_001), 204);
    expect(ids(await queue.claimDue(at(5_001), 10))).toEqual(['a2']);
    expect(queue.get('a1')).toMatchObject({ state: 'delivered', attempts: 2, lastStatus: 204, lastError: null, deliveredAt: at(5_001) });
  });

  it('lets the next delivery go once the oldest is given up, and keeps the dead letter for a manual retry', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0), delivery('a2', 'a', 1)]);
    await queue.claimDue(at(10), 10);
    await queue.markFailed('a1', { at: at(10), attempts: 1, nextAttemptAt: null, error: 'HTTP 410', status: 410 });
    expect(queue.get('a1')).toMatchObject({ state: 'given-up', attempts: 1, lastStatus: 410, lastError: 'HTTP 410', claimedUntil: null });
    expect(ids(await queue.claimDue(at(10), 10))).toEqual(['a2']);
    await queue.markDelivered('a2', at(11), 200);

    await queue.retryGivenUp('a1', at(20));
    expect(await queue.claimDue(at(20), 10)).toMatchObject([{ id: 'a1', attempts: 0 }]);
    await expect(queue.retryGivenUp('a2', at(20))).rejects.toThrow(/only a dead letter can be retried/);
  });

  it('never hands out a claimed delivery twice until its lease runs out', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0)], 1_000);
    expect(ids(await queue.claimDue(at(0), 10))).toEqual(['a1']);
    expect(await queue.claimDue(at(999), 10)).toEqual([]);
    // The claimer died without marking it: it is attempted again.
    expect(ids(await queue.claimDue(at(1_000), 10))).toEqual(['a1']);
  });

  it('hands out only the endpoints named, so a paused endpoint keeps its deliveries in order', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0), delivery('b1', 'b', 1), delivery('b2', 'b', 2)]);
    expect(ids(await queue.claimDue(at(10), 10, ['a']))).toEqual(['a1']);
    expect(await queue.claimDue(at(10), 10, [])).toEqual([]);
    expect(ids(await queue.claimDue(at(10), 10, ['a', 'b']))).toEqual(['b1']);
  });

  it('queues an event once per endpoint, so re-running the transaction that queued it is harmless', async () => {
    const queue = new MemoryWebhookQueue();
    expect(await queue.enqueue([delivery('a1', 'a', 0, 'evt-1'), delivery('b1', 'b', 0, 'evt-1')])).toBe(2);
    expect(await queue.enqueue([delivery('a1-again', 'a', 5, 'evt-1'), delivery('a2', 'a', 5, 'evt-2')])).toBe(1);
    expect(ids(queue.list())).toEqual(['a1', 'b1', 'a2']);
  });

  it('keeps a late failure report from undoing a delivery', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0)]);
    await queue.markDelivered('a1', at(5), 200);
    await queue.markFailed('a1', { at: at(6), attempts: 1, nextAttemptAt: at(100), error: 'timeout after 10000 ms' });
    expect(queue.get('a1')).toMatchObject({ state: 'delivered', lastStatus: 200 });
  });

  it('hands out copies, so a caller cannot change what the queue holds', async () => {
    const queue = await queueWith([delivery('a1', 'a', 0)]);
    const [claimed] = await queue.claimDue(at(0), 1);
    claimed?.nextAttemptAt.setTime(0);
    expect(queue.get('a1')?.nextAttemptAt).toEqual(at(0));
  });
});
