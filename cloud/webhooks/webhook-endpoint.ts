import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';
import type { NewWebhookDelivery } from './webhook-queue.js';

/**
 * Event types are dotted lowercase names such as `ticket.opened`. The ticket engine defines the
 * list; once it does, this should become a z.enum so a typo in an endpoint's configuration is
 * refused instead of silently matching nothing.
 */
export const webhookEventTypeSchema = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be a dotted lowercase event type such as ticket.opened')
  .describe('An event type, such as ticket.opened');

export const webhookEndpointSchema = z.object({
  id: z
    .string()
    .min(1, 'must not be empty')
    .max(64, 'must be at most 64 characters')
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may hold letters, digits, ".", "_" and "-" and must start with a letter or digit')
    .describe('Names the endpoint in logs and in the queue; the URL never appears in logs (it may hold a token)'),
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(2048, 'must be at most 2048 characters')
    // fetch refuses such URLs, and the credentials would sit in configuration dumps: the signature is the authentication.
    // zod runs this even when the URL check above failed: an unparsable URL is left to that check.
    .refine((url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''), 'must not hold a user name or password; the receiver authenticates avcare by the signature')
    .describe('Where deliveries are POSTed; redirects are not followed'),
  secret: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(512, 'must be at most 512 characters')
    .describe('The HMAC-SHA256 key the receiver verifies X-Avcare-Signature with; never logged'),
  events: z
    .union([z.tuple([z.literal('*')]), z.array(webhookEventTypeSchema).min(1, 'must name at least one event type, or be ["*"]')])
    .describe('The event types this endpoint receives, or ["*"] for all'),
  enabled: z.boolean().default(true).describe('A disabled endpoint is paused: its deliveries wait in the queue, in order, until it is enabled'),
});

export const webhookEndpointsSchema = z.array(webhookEndpointSchema).superRefine((endpoints, context) => {
  const seen = new Set<string>();
  endpoints.forEach((endpoint, index) => {
    if (seen.has(endpoint.id)) context.addIssue({ code: 'custom', path: [index, 'id'], message: `the id ${endpoint.id} is used twice` });
    seen.add(endpoint.id);
  });
});

export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;
export type WebhookEndpointInput = z.input<typeof webhookEndpointSchema>;

/**
 * Parses the endpoints from configuration. The refusal names the field and the rule, never the
 * value: the value may be a secret.
 */
export function parseWebhookEndpoints(input: unknown): WebhookEndpoint[] {
  const parsed = webhookEndpointsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `webhooks.${issue.path.map(String).join('.')}: ${issue.message}`);
  throw new AvcareError('CONFIG_INVALID', problems.join('; '), { problems });
}

/** The enabled endpoints that receive an event of this type. */
export function endpointsForEvent(eventType: string, endpoints: readonly WebhookEndpoint[]): WebhookEndpoint[] {
  return endpoints.filter((endpoint) => {
    const events: readonly string[] = endpoint.events;
    return endpoint.enabled && (events[0] === '*' || events.includes(eventType));
  });
}

export interface WebhookEvent {
  id: string;
  type: string;
  /** The serialised JSON the receivers get, made once so every endpoint and attempt gets the same bytes. */
  body: string;
  createdAt: Date;
}

/**
 * One delivery per enabled endpoint that wants the event. An endpoint disabled at this moment
 * gets none: pausing keeps what was queued, it does not collect new events.
 */
export function planWebhookDeliveries(event: WebhookEvent, endpoints: readonly WebhookEndpoint[], newId: () => string = randomUUID): NewWebhookDelivery[] {
  return endpointsForEvent(event.type, endpoints).map((endpoint) => ({
    id: newId(),
    endpointId: endpoint.id,
    eventId: event.id,
    eventType: event.type,
    body: event.body,
    createdAt: event.createdAt,
  }));
}
