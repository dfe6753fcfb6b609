import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/free-port.js';
import { isAvcareError } from '../../protocol/index.js';
import { WebhookDeliverer, type WebhookDelivererOptions } from './webhook-deliverer.js';
import { parseWebhookEndpoints, planWebhookDeliveries, type WebhookEndpoint } from './webhook-endpoint.js';
import { MemoryWebhookQueue, type WebhookQueue } from './webhook-queue.js';
import { verifyWebhook, type WebhookVerifyResult } from './webhook-signature.js';

/**
 * The deliverer against real HTTP servers on 127.0.0.1 (fetch is never mocked: redirects,
 * timeouts, refused connections and Retry-After go through undici as in production). Time as the
 * queue sees it is a fake clock the test moves, so a backoff of minutes costs no waiting; only
 * the timeout test waits, for its 100 ms.
 */

const T0 = Date.parse('2025-03-03T08:00:00Z');

interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  deliveryId: string;
  /** Checked when the request arrived, against the receiver's (fake) clock. */
  verified: WebhookVerifyResult;
  status?: number;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A helpdesk stand-in: records every request and answers what the test says. */
class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest, index: number) => Answer | Promise<Answer> = () => ({ status: 200 });
  private readonly arrivals: ((request: ReceivedRequest) => void)[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(options: { secret: string; now: () => Date; port?: number }): Promise<TestReceiver> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const receiver = new TestReceiver(server, (server.address() as AddressInfo).port);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const received: ReceivedRequest = {
          path: request.url ?? '',
          headers: request.headers,
          body: body.toString('utf8'),
          deliveryId: String(request.headers['x-avcare-delivery']),
          verified: verifyWebhook({ secret: options.secret, body, headers: request.headers, now: options.now() }),
        };
        receiver.requests.push(received);
        receiver.arrivals.splice(0).forEach((notify) => notify(received));
        void Promise.resolve(receiver.answer(received, receiver.requests.length - 1)).then((answer) => {
          if (answer === 'hang') return;
          received.status = answer.status;
          response.writeHead(answer.status, answer.headers).end(answer.body);
        });
      });
    });
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The requests answered with a 2xx: one per successful attempt. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => request.status !== undefined && request.status >= 200 && request.status < 300);
  }

  nextRequest(): Promise<ReceivedRequest> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function capturingLogger(): { lines: Record<string, unknown>[]; text: () => string; logger: Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, text: () => JSON.stringify(lines), logger };
}

const SECRET = 'receiver-secret-7f3a91c2';
/** Receivers often take a token in the URL (Jira automation, Zammad): it must not reach the log. */
const URL_TOKEN = 'url-token-5d81e0';

function endpoint(id: string, baseUrl: string, extra: Partial<WebhookEndpoint> = {}): WebhookEndpoint {
  const [parsed] = parseWebhookEndpoints([{ id, url: `${baseUrl}/hooks/${id}?token=${URL_TOKEN}`, secret: SECRET, events: ['*'], ...extra }]);
  if (!parsed) throw new Error('no endpoint');
  return parsed;
}

/** Queues `count` events for every endpoint, one ms apart, and returns each endpoint's delivery ids in queue order. */
async function queueEvents(queue: MemoryWebhookQueue, endpoints: WebhookEndpoint[], count: number): Promise<Map<string, string[]>> {
  const order = new Map<string, string[]>(endpoints.map((each) => [each.id, []]));
  let next = 0;
  for (let index = 1; index <= count; index += 1) {
    const type = index === count ? 'ticket.resolved' : 'ticket.updated';
    const event = { id: `evt-${index}`, type, body: JSON.stringify({ id: `evt-${index}`, type, ticket: { id: 'T-42', room: '三年级二班' } }), createdAt: new Date(T0 + index) };
    const deliveries = planWebhookDeliveries(event, endpoints, () => `dlv-${(next += 1)}`);
    await queue.enqueue(deliveries);
    for (const delivery of deliveries) order.get(delivery.endpointId)?.push(delivery.id);
  }
  return order;
}

interface Harness {
  queue: MemoryWebhookQueue;
  clock: { ms: number };
  now: () => Date;
  log: ReturnType<typeof capturingLogger>;
  receiver(port?: number): Promise<TestReceiver>;
  deliverer(endpoints: () => readonly WebhookEndpoint[], options?: Partial<WebhookDelivererOptions>): WebhookDeliverer;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function harness(): Harness {
  const clock = { ms: T0 + 1_000 };
  const now = () => new Date(clock.ms);
  const queue = new MemoryWebhookQueue();
  const log = capturingLogger();
  return {
    queue,
    clock,
    now,
    log,
    async receiver(port) {
      const receiver = await TestReceiver.listen({ secret: SECRET, now, ...(port === undefined ? {} : { port }) });
      cleanups.push(() => receiver.close());
      return receiver;
    },
    deliverer(endpoints, options = {}) {
      const deliverer = new WebhookDeliverer({ queue, endpoints, log: log.logger, now, timeoutMs: 2_000, pollMs: 5, backoff: { initialMs: 1_000, maxMs: 60_000, jitter: false }, ...options });
      cleanups.push(() => deliverer.stop());
      return deliverer;
    },
  };
}

function expectSignedDelivery(request: ReceivedRequest, queue: MemoryWebhookQueue): void {
  const queued = queue.get(request.deliveryId);
  expect(request.verified).toMatchObject({ ok: true });
  expect(request.body).toBe(queued?.body);
  expect(request.headers).toMatchObject({
    'content-type': 'application/json',
    'user-agent': 'avcare-webhooks/1',
    'x-avcare-event': queued?.eventType,
    'x-avcare-delivery': queued?.id,
  });
}

describe('WebhookDeliverer', () => {
  it('delivers every queued event exactly once, in order per endpoint and signed, after the receivers were down', async () => {
    const h = harness();
    // Endpoint a: nothing listens on its port yet. Endpoint b: up, but answering 503.
    const downPort = await freePort();
    const b = await h.receiver();
    b.answer = () => ({ status: 503, body: 'maintenance' });
    const endpoints = [endpoint('a', `http://127.0.0.1:${downPort}`), endpoint('b', b.url)];
    const order = await queueEvents(h.queue, endpoints, 5);
    const deliverer = h.deliverer(() => endpoints);
    const headOf = (id: string) => order.get(id)?.[0] ?? '';

    await deliverer.deliverDueNow();
    // Only the oldest delivery of each endpoint was tried; the others wait behind it.
    expect(b.requests.map((request) => request.deliveryId)).toEqual([headOf('b')]);
    expect(h.queue.get(headOf('a'))).toMatchObject({ state: 'pending', attempts: 1, lastError: 'network error: ECONNREFUSED', nextAttemptAt: new Date(h.clock.ms + 1_000) });
    expect(h.queue.get(headOf('b'))).toMatchObject({ state: 'pending', attempts: 1, lastStatus: 503, lastError: 'HTTP 503: maintenance' });
    expect(h.queue.list().filter((record) => record.attempts > 0)).toHaveLength(2);

    // Not due yet: nothing is sent.
    h.clock.ms += 999;
    await deliverer.deliverDueNow();
    expect(b.requests).toHaveLength(1);

    // Due, still down: the wait doubles.
    h.clock.ms += 1;
    await deliverer.deliverDueNow();
    expect(b.requests.map((request) => request.deliveryId)).toEqual([headOf('b'), headOf('b')]);
    expect(h.queue.get(headOf('a'))).toMatchObject({ attempts: 2, nextAttemptAt: new Date(h.clock.ms + 2_000) });

    // Both come back.
    const a = await h.receiver(downPort);
    b.answer = () => ({ status: 204 });
    h.clock.ms += 2_000;
    await deliverer.deliverDueNow();

    expect(h.queue.list().every((record) => record.state === 'delivered')).toBe(true);
    for (const [receiver, id] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const accepted = receiver.accepted();
      expect(accepted.map((request) => request.deliveryId)).toEqual(order.get(id));
      expect(accepted.map((request) => request.path)).toEqual(accepted.map(() => `/hooks/${id}?token=${URL_TOKEN}`));
      for (const request of accepted) expectSignedDelivery(request, h.queue);
    }
    expect(JSON.parse(a.accepted().at(-1)?.body ?? '{}')).toMatchObject({ id: 'evt-5', type: 'ticket.resolved' });
    expect(h.queue.get(headOf('b'))).toMatchObject({ attempts: 3, lastStatus: 204, lastError: null });

    // The log names endpoints, deliveries, statuses and attempts; never the secret, the URL or the body.
    const retried = h.log.lines.find((line) => line.endpointId === 'b' && line.status === 503);
    expect(retried).toMatchObject({ deliveryId: headOf('b'), attempt: 1, error: 'HTTP 503', retryInMs: 1_000, module: 'webhooks' });
    expect(h.log.lines.some((line) => line.endpointId === 'a' && line.msg === 'webhook endpoint accepts deliveries again')).toBe(true);
    for (const forbidden of [SECRET, URL_TOKEN, '三年级二班', 'T-42', '/hooks/']) expect(h.log.text()).not.toContain(forbidden);
  });

  it('waits as long as Retry-After asks on 429, and no longer than maxMs on 503', async () => {
    const h = harness();
    const receiver = await h.receiver();
    const endpoints = [endpoint('a', receiver.url), endpoint('b', `${receiver.url}/b`)];
    receiver.answer = (request, index) => {
      if (index > 1) return { status: 200 };
      return request.path.startsWith('/b/') ? { status: 503, headers: { 'Retry-After': new Date(h.clock.ms + 86_400_000).toUTCString() } } : { status: 429, headers: { 'Retry-After': '120' } };
    };
    const order = await queueEvents(h.queue, endpoints, 1);
    const deliverer = h.deliverer(() => endpoints, { backoff: { initialMs: 10, maxMs: 600_000, jitter: false } });

    await deliverer.deliverDueNow();
    const [a1] = order.get('a') ?? [];
    const [b1] = order.get('b') ?? [];
    expect(h.queue.get(a1 ?? '')).toMatchObject({ lastStatus: 429, nextAttemptAt: new Date(h.clock.ms + 120_000) });
    expect(h.queue.get(b1 ?? '')).toMatchObject({ lastStatus: 503, nextAttemptAt: new Date(h.clock.ms + 600_000) });

    h.clock.ms += 119_999;
    await deliverer.deliverDueNow();
    expect(receiver.requests).toHaveLength(2);
    h.clock.ms += 1;
    await deliverer.deliverDueNow();
    expect(receiver.requests).toHaveLength(3);
    expect(h.queue.get(a1 ?? '')?.state).toBe('delivered');
    expect(h.queue.get(b1 ?? '')?.state).toBe('pending');
  });

  it.each([410, 400])('gives up at once on %i, keeps the dead letter and lets the next deliveries through', async (status) => {
    const h = harness();
    const receiver = await h.receiver();
    receiver.answer = (_request, index) => (index < 2 ? { status, body: 'no such webhook' } : { status: 200 });
    const endpoints = [endpoint('a', receiver.url)];
    const order = (await queueEvents(h.queue, endpoints, 3)).get('a') ?? [];
    const deliverer = h.deliverer(() => endpoints);

    await deliverer.deliverDueNow();

    expect(receiver.requests.map((request) => request.deliveryId)).toEqual(order);
    expect(h.queue.list().map((record) => [record.state, record.attempts])).toEqual([
      ['given-up', 1],
      ['given-up', 1],
      ['delivered', 1],
    ]);
    expect(h.queue.get(order[0] ?? '')).toMatchObject({ lastStatus: status, lastError: `HTTP ${status}: no such webhook` });
    // Two give-ups, one line: the log is rate-limited per endpoint.
    const gaveUp = h.log.lines.filter((line) => line.level === 50);
    expect(gaveUp).toEqual([expect.objectContaining({ endpointId: 'a', deliveryId: order[0], status, attempt: 1, reason: 'permanent-status' })]);
    expect(h.log.text()).not.toContain(SECRET);
  });

  it('gives up after maxAttempts failed attempts', async () => {
    const h = harness();
    const receiver = await h.receiver();
    receiver.answer = () => ({ status: 500 });
    const endpoints = [endpoint('a', receiver.url)];
    const [only] = (await queueEvents(h.queue, endpoints, 1)).get('a') ?? [];
    const deliverer = h.deliverer(() => endpoints, { backoff: { initialMs: 1_000, maxMs: 60_000, maxAttempts: 3, jitter: false } });

    for (let round = 0; round < 5; round += 1) {
      await deliverer.deliverDueNow();
      h.clock.ms += 60_000;
    }
    expect(receiver.requests).toHaveLength(3);
    expect(h.queue.get(only ?? '')).toMatchObject({ state: 'given-up', attempts: 3, lastStatus: 500 });
    expect(h.log.lines.at(-1)).toMatchObject({ reason: 'attempts-exhausted', attempt: 3 });
  });

  it('counts a receiver that does not answer within timeoutMs as a failed attempt', async () => {
    const h = harness();
    const receiver = await h.receiver();
    receiver.answer = (_request, index) => (index === 0 ? 'hang' : { status: 200 });
    const endpoints = [endpoint('a', receiver.url)];
    const [only] = (await queueEvents(h.queue, endpoints, 1)).get('a') ?? [];
    const deliverer = h.deliverer(() => endpoints, { timeoutMs: 100 });

    await deliverer.deliverDueNow();
    expect(h.queue.get(only ?? '')).toMatchObject({ state: 'pending', attempts: 1, lastStatus: null, lastError: 'timeout after 100 ms', nextAttemptAt: new Date(h.clock.ms + 1_000) });

    h.clock.ms += 1_000;
    await deliverer.deliverDueNow();
    expect(h.queue.get(only ?? '')).toMatchObject({ state: 'delivered', attempts: 2 });
    // The receiver saw the delivery twice (it cannot know the first answer was lost) and accepted it once.
    expect(receiver.requests.map((request) => request.deliveryId)).toEqual([only, only]);
    expect(receiver.accepted()).toHaveLength(1);
  });

  it('never follows a redirect: the signed body does not go to another host, and the delivery is retried', async () => {
    const h = harness();
    const elsewhere = await h.receiver();
    const receiver = await h.receiver();
    receiver.answer = () => ({ status: 307, headers: { Location: `${elsewhere.url}/stolen` } });
    const endpoints = [endpoint('a', receiver.url)];
    const [only] = (await queueEvents(h.queue, endpoints, 1)).get('a') ?? [];

    await h.deliverer(() => endpoints).deliverDueNow();

    expect(receiver.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(h.queue.get(only ?? '')).toMatchObject({ state: 'pending', lastStatus: 307, lastError: 'HTTP 307 (redirects are not followed)' });
  });

  it('stop() waits for the attempt in flight and its record, then starts nothing new', async () => {
    const h = harness();
    const receiver = await h.receiver();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    receiver.answer = async () => {
      await released;
      return { status: 200 };
    };
    const endpoints = [endpoint('a', receiver.url)];
    const [first] = (await queueEvents(h.queue, endpoints, 1)).get('a') ?? [];
    const deliverer = h.deliverer(() => endpoints);

    const arrived = receiver.nextRequest();
    deliverer.start();
    await arrived;
    let stopped = false;
    const stopping = deliverer.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(h.queue.get(first ?? '')?.state).toBe('pending');

    release();
    await stopping;
    expect(h.queue.get(first ?? '')?.state).toBe('delivered');

    await h.queue.enqueue(planWebhookDeliveries({ id: 'evt-late', type: 'ticket.updated', body: '{}', createdAt: h.now() }, endpoints));
    await deliverer.deliverDueNow();
    expect(receiver.requests).toHaveLength(1);
  });

  it('sends one delivery at a time per endpoint, in order, however often it is woken', async () => {
    const h = harness();
    const receiver = await h.receiver();
    const inFlight = new Map<string, number>();
    let overlapped = false;
    receiver.answer = async (request) => {
      const path = request.path.split('?')[0] ?? '';
      inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
      overlapped ||= (inFlight.get(path) ?? 0) > 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight.set(path, (inFlight.get(path) ?? 0) - 1);
      return { status: 200 };
    };
    const endpoints = [endpoint('a', receiver.url), endpoint('b', receiver.url)];
    const order = await queueEvents(h.queue, endpoints, 6);
    const deliverer = h.deliverer(() => endpoints);

    deliverer.start();
    await Promise.all([deliverer.deliverDueNow(), deliverer.deliverDueNow(), deliverer.deliverDueNow()]);
    await deliverer.deliverDueNow();
    await deliverer.stop();

    expect(overlapped).toBe(false);
    for (const id of ['a', 'b']) {
      expect(receiver.accepted().filter((request) => request.path.startsWith(`/hooks/${id}?`)).map((request) => request.deliveryId)).toEqual(order.get(id));
    }
    expect(receiver.requests).toHaveLength(12);
  });

  it('leaves the deliveries of a disabled endpoint queued, and sends them in order once it is enabled', async () => {
    const h = harness();
    const receiver = await h.receiver();
    let endpoints = [endpoint('a', receiver.url, { enabled: false })];
    const order = await queueEvents(h.queue, endpoints.map((each) => ({ ...each, enabled: true })), 3);
    const deliverer = h.deliverer(() => endpoints);

    await deliverer.deliverDueNow();
    expect(receiver.requests).toHaveLength(0);
    expect(h.queue.list().every((record) => record.state === 'pending' && record.attempts === 0)).toBe(true);

    endpoints = [endpoint('a', receiver.url)];
    await deliverer.deliverDueNow();
    expect(receiver.accepted().map((request) => request.deliveryId)).toEqual(order.get('a'));
  });

  it('logs a failing queue and keeps going', async () => {
    const h = harness();
    let calls = 0;
    const queue: WebhookQueue = {
      claimDue: () => Promise.reject(new Error(`database is locked (${(calls += 1)})`)),
      markDelivered: () => Promise.resolve(),
      markFailed: () => Promise.resolve(),
    };
    const deliverer = h.deliverer(() => [endpoint('a', 'http://127.0.0.1:9')], { queue });
    await deliverer.deliverDueNow();
    await deliverer.deliverDueNow();
    expect(calls).toBe(2);
    expect(h.log.lines).toEqual([expect.objectContaining({ level: 50, msg: 'a webhook delivery pass failed; the next poll tries again' })]);
  });

  it('refuses settings out of range', () => {
    const h = harness();
    try {
      h.deliverer(() => [], { timeoutMs: 0, backoff: { initialMs: 10_000, maxMs: 1_000 } });
      expect.unreachable('the settings were accepted');
    } catch (error) {
      expect(isAvcareError(error) && error.code).toBe('INVALID_ARGUMENT');
      expect(String(error)).toContain('timeoutMs');
      expect(String(error)).toContain('backoff.maxMs: maxMs must be at least initialMs');
    }
  });
});
