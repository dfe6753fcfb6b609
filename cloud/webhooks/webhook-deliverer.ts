import type { Logger } from 'pino';
import { z } from 'zod';
import { AvcareError, untrustedText } from '../../protocol/index.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import type { WebhookEndpoint } from './webhook-endpoint.js';
import type { WebhookDelivery, WebhookQueue } from './webhook-queue.js';
import { nextStep, webhookBackoffSchema, type AttemptOutcome, type NextStep } from './webhook-retry-policy.js';
import { signWebhook } from './webhook-signature.js';

export const USER_AGENT = 'avcare-webhooks/1';
export const EVENT_HEADER = 'X-Avcare-Event';
export const DELIVERY_HEADER = 'X-Avcare-Delivery';

/** How much of a refusing receiver's answer is kept with the delivery, for whoever inspects it. */
const RESPONSE_SNIPPET_BYTES = 512;
const RESPONSE_SNIPPET_CHARS = 200;

export const webhookDelivererSettingsSchema = z.object({
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(120_000)
    .default(10_000)
    .describe('An attempt that has not received its whole answer by then fails; must stay below the queue lease (5 min)'),
  pollMs: z.number().int().min(1).max(3_600_000).default(2_000).describe('How often the queue is asked for due deliveries while started'),
  claimLimit: z
    .number()
    .int()
    .min(1)
    .max(1_000)
    .default(100)
    .describe('Deliveries claimed at once: the queue gives one per endpoint, so also the most endpoints served in parallel'),
  backoff: webhookBackoffSchema.prefault({}),
  logIntervalMs: z.number().int().min(0).max(3_600_000).default(60_000).describe('At most one failure line per endpoint and kind in this interval'),
});

export type WebhookDelivererSettings = z.infer<typeof webhookDelivererSettingsSchema>;

export type WebhookDelivererOptions = z.input<typeof webhookDelivererSettingsSchema> & {
  queue: WebhookQueue;
  /** Read at every claim, so a configuration reload (a new secret, a disabled endpoint) applies at once. */
  endpoints: () => readonly WebhookEndpoint[];
  log: Logger;
  fetch?: typeof fetch;
  /** Injectable for tests: decides what is due and what the signature's timestamp says. */
  now?: () => Date;
  random?: () => number;
};

interface Sent {
  outcome: AttemptOutcome;
  /** For the log: "HTTP 503", "timeout after 10000 ms", "network error: ECONNREFUSED". */
  problem: string;
  /** For the queue: the problem and the start of the receiver's answer. */
  detail: string;
}

/**
 * Drains the webhook queue: POSTs each delivery, signed, to its endpoint, and records the result
 * so a retry survives a restart.
 *
 * One delivery at a time per endpoint, in the order they were queued: a delivery is not attempted
 * while an older one for its endpoint waits for a retry. A helpdesk must see "opened" before
 * "resolved" (Zammad, Jira and osTicket apply updates in arrival order; a resolve for a ticket
 * they do not know yet is refused or creates a stray ticket). The cost: one delivery that keeps
 * failing holds back its endpoint's later ones until it is delivered or given up, which is also
 * what an endpoint that is down needs: one probing request per retry instead of a burst. The
 * queue enforces the order (see WebhookQueue.claimDue); this class sends what a claim returns for
 * one endpoint in order and stops at the first failure. Different endpoints are served in
 * parallel, so a slow helpdesk never delays another provider's.
 *
 * Delivery is at-least-once: a crash between the receiver's 2xx and markDelivered sends the
 * delivery again, with the same X-Avcare-Delivery, for the receiver to drop.
 */
export class WebhookDeliverer {
  private readonly queue: WebhookQueue;
  private readonly endpoints: () => readonly WebhookEndpoint[];
  private readonly log: Logger;
  private readonly limitedLog: RateLimitedLog;
  private readonly fetch: typeof fetch;
  private readonly now: () => Date;
  private readonly random: () => number;
  private readonly settings: WebhookDelivererSettings;

  private pass: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  /** Bumped by start(), so a poll loop from before a stop() never schedules again. */
  private generation = 0;
  /** Endpoints whose last attempt failed and will be retried: their recovery is logged once. */
  private readonly failing = new Set<string>();

  constructor(options: WebhookDelivererOptions) {
    const { queue, endpoints, log, fetch: fetchImpl, now, random, ...settings } = options;
    const parsed = webhookDelivererSettingsSchema.safeParse(settings);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`);
      throw new AvcareError('INVALID_ARGUMENT', `webhook deliverer settings: ${problems.join('; ')}`, { problems });
    }
    this.settings = parsed.data;
    this.queue = queue;
    this.endpoints = endpoints;
    this.log = log.child({ module: 'webhooks' });
    this.limitedLog = new RateLimitedLog(this.log, { intervalMs: this.settings.logIntervalMs });
    // Called through a wrapper: the global fetch must not be called as a method of this object.
    this.fetch = fetchImpl ?? ((input, init) => fetch(input, init));
    this.now = now ?? (() => new Date());
    this.random = random ?? Math.random;
  }

  /** Delivers what is due now, then polls every pollMs. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.generation += 1;
    this.poll(this.generation);
  }

  /**
   * Stops polling and waits for the attempts in flight to finish (each is bounded by timeoutMs)
   * and be recorded, so the queue is never closed under them. Nothing new starts afterwards, not
   * even from deliverDueNow(), until start() is called again.
   */
  async stop(): Promise<void> {
    this.started = false;
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([this.pass, this.followUp]);
  }

  /**
   * Attempts everything due now, until nothing is left due, and resolves when that is recorded;
   * it never rejects (failures are logged). Call it right after queueing to send without waiting
   * for the next poll. Passes never overlap: a call during a pass gets one more pass right after
   * it (shared by all such calls), which sees what was queued meanwhile.
   */
  deliverDueNow(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.followUp) return this.followUp;
    if (!this.pass) return this.startPass();
    const followUp = this.pass.then(() => {
      this.followUp = undefined;
      return this.startPass();
    });
    this.followUp = followUp;
    return followUp;
  }

  private poll(generation: number): void {
    this.timer = undefined;
    void this.deliverDueNow().then(() => {
      if (this.started && this.generation === generation && this.timer === undefined) {
        this.timer = setTimeout(() => this.poll(generation), this.settings.pollMs);
      }
    });
  }

  private startPass(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    const pass = this.runPass().finally(() => {
      if (this.pass === pass) this.pass = undefined;
    });
    this.pass = pass;
    return pass;
  }

  private async runPass(): Promise<void> {
    try {
      while (!this.stopping) {
        const endpoints = new Map(
          this.endpoints()
            .filter((endpoint) => endpoint.enabled)
            .map((endpoint) => [endpoint.id, endpoint] as const),
        );
        if (endpoints.size === 0) return;
        const claimed = await this.queue.claimDue(this.now(), this.settings.claimLimit, [...endpoints.keys()]);
        const results = await Promise.allSettled([...groupByEndpoint(claimed)].map(([endpointId, group]) => this.deliverInOrder(endpoints.get(endpointId), group)));
        const failed = results.find((result) => result.status === 'rejected');
        if (failed) throw failed.reason;
        // Nothing attempted: nothing was due, or the queue handed out only what cannot be sent.
        if (!results.some((result) => result.status === 'fulfilled' && result.value > 0)) return;
      }
    } catch (error) {
      this.limitedLog.error('pass', { err: error }, 'a webhook delivery pass failed; the next poll tries again');
    }
  }

  /** Returns how many deliveries were attempted. */
  private async deliverInOrder(endpoint: WebhookEndpoint | undefined, deliveries: WebhookDelivery[]): Promise<number> {
    let attempted = 0;
    for (const delivery of deliveries) {
      if (endpoint === undefined) {
        // The queue ignored the endpoint filter; the claim lapses by itself.
        this.limitedLog.warn('unknown-endpoint', { endpointId: delivery.endpointId, deliveryId: delivery.id }, 'the webhook queue handed out a delivery for an endpoint that is not enabled; skipped');
        break;
      }
      attempted += 1;
      if (!(await this.attempt(endpoint, delivery))) break;
    }
    return attempted;
  }

  /** Returns whether the delivery was delivered, that is whether the endpoint's next one may go. */
  private async attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<boolean> {
    const attempt = delivery.attempts + 1;
    const sent = await this.send(endpoint, delivery);
    const at = this.now();
    const step = nextStep(sent.outcome, attempt, this.settings.backoff, at, this.random);
    const status = sent.outcome.kind === 'response' ? sent.outcome.status : undefined;
    // Never the URL (it may hold a token), the secret or the body.
    const fields = { endpointId: endpoint.id, deliveryId: delivery.id, eventType: delivery.eventType, attempt, ...(status === undefined ? {} : { status }) };
    try {
      await this.record(delivery, step, at, attempt, status, sent.detail);
    } catch (error) {
      this.limitedLog.error('queue', { ...fields, err: error }, 'recording a webhook attempt failed; the delivery is attempted again when its claim runs out');
      return false;
    }
    switch (step.action) {
      case 'delivered':
        this.log.debug(fields, 'webhook delivered');
        if (this.failing.delete(endpoint.id)) this.log.info({ endpointId: endpoint.id }, 'webhook endpoint accepts deliveries again');
        return true;
      case 'retry':
        this.failing.add(endpoint.id);
        this.limitedLog.warn(`retry:${endpoint.id}`, { ...fields, error: sent.problem, retryInMs: step.delayMs }, 'webhook delivery failed; it will be retried, and later deliveries to this endpoint wait for it');
        return false;
      case 'give-up':
        this.limitedLog.error(
          `give-up:${endpoint.id}`,
          { ...fields, error: sent.problem, reason: step.reason },
          step.reason === 'permanent-status'
            ? 'the receiver refused a webhook delivery for good; it is kept as a dead letter for inspection and manual retry'
            : 'gave up a webhook delivery after its last attempt; it is kept as a dead letter for inspection and manual retry',
        );
        // The endpoint's next delivery goes now: a dead letter does not hold the others back.
        return true;
    }
  }

  private async record(delivery: WebhookDelivery, step: NextStep, at: Date, attempts: number, status: number | undefined, detail: string): Promise<void> {
    if (step.action === 'delivered') return this.queue.markDelivered(delivery.id, at, status ?? 0);
    const nextAttemptAt = step.action === 'retry' ? new Date(at.getTime() + step.delayMs) : null;
    await this.queue.markFailed(delivery.id, { at, attempts, nextAttemptAt, error: detail, ...(status === undefined ? {} : { status }) });
  }

  private async send(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<Sent> {
    const signal = AbortSignal.timeout(this.settings.timeoutMs);
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      [EVENT_HEADER]: delivery.eventType,
      [DELIVERY_HEADER]: delivery.id,
      // Signed at each attempt: a retry hours later must not look like a replay.
      ...signWebhook({ secret: endpoint.secret, body: delivery.body, timestamp: this.now() }),
    };
    try {
      // redirect 'manual': a redirect is a failure, never followed, so the signed body cannot be
      // sent on to another host.
      const response = await this.fetch(endpoint.url, { method: 'POST', headers, body: delivery.body, redirect: 'manual', signal });
      const outcome: AttemptOutcome = { kind: 'response', status: response.status, retryAfter: response.headers.get('retry-after') };
      if (response.ok) {
        await discardBody(response);
        return { outcome, problem: '', detail: '' };
      }
      const problem = response.status >= 300 && response.status < 400 ? `HTTP ${response.status} (redirects are not followed)` : `HTTP ${response.status}`;
      const snippet = await readSnippet(response);
      return { outcome, problem, detail: snippet === undefined ? problem : `${problem}: ${snippet}` };
    } catch (error) {
      if (signal.aborted) {
        const problem = `timeout after ${this.settings.timeoutMs} ms`;
        return { outcome: { kind: 'timeout' }, problem, detail: problem };
      }
      const problem = describeNetworkError(error);
      return { outcome: { kind: 'network-error' }, problem, detail: problem };
    }
  }
}

function groupByEndpoint(deliveries: readonly WebhookDelivery[]): Map<string, WebhookDelivery[]> {
  const groups = new Map<string, WebhookDelivery[]>();
  for (const delivery of deliveries) {
    const group = groups.get(delivery.endpointId);
    if (group) group.push(delivery);
    else groups.set(delivery.endpointId, [delivery]);
  }
  return groups;
}

/** Only the error code: the message of some fetch errors quotes the URL, which may hold a token. */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  return `network error: ${code ?? (cause instanceof Error ? cause.name : 'unknown')}`;
}

/** An unread body keeps its connection busy until garbage collection. */
async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The answer counts, not its body: a connection that broke after the status line changes nothing.
  }
}

/** The start of a refusal ("invalid signature", "unknown queue"), cleaned for storing and showing. */
async function readSnippet(response: Response): Promise<string | undefined> {
  if (!response.body) return undefined;
  // fetch bodies are byte streams; the DOM typings leave the chunk type open.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut off by the timeout or the receiver: the status already says what happened.
  }
  await reader.cancel().catch(() => undefined);
  return untrustedText(Buffer.concat(chunks).subarray(0, RESPONSE_SNIPPET_BYTES).toString('utf8'), RESPONSE_SNIPPET_CHARS);
}
