import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../../protocol/index.js';
import { endpointsForEvent, parseWebhookEndpoints, planWebhookDeliveries, webhookEndpointSchema, type WebhookEndpointInput } from './webhook-endpoint.js';

const VALID: WebhookEndpointInput = { id: 'zammad-main', url: 'https://helpdesk.example.cn/api/v1/webhooks/avcare', secret: 'a-secret-of-24-characters', events: ['ticket.opened', 'ticket.resolved'] };

function problemsOf(input: unknown): string {
  try {
    parseWebhookEndpoints(input);
  } catch (error) {
    if (isAvcareError(error) && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('webhookEndpointSchema', () => {
  it('accepts http and https endpoints and enables them by default', () => {
    expect(webhookEndpointSchema.parse(VALID)).toEqual({ ...VALID, enabled: true });
    expect(webhookEndpointSchema.parse({ ...VALID, url: 'http://10.2.0.8:8080/osticket/hook?token=x', events: ['*'], enabled: false })).toMatchObject({ events: ['*'], enabled: false });
  });

  it('refuses other schemes, credentials in the URL, short secrets, bad event lists and repeated ids', () => {
    expect(problemsOf([{ ...VALID, url: 'ftp://helpdesk.example.cn/hook' }])).toContain('webhooks.0.url: must be an http:// or https:// URL');
    expect(problemsOf([{ ...VALID, url: 'file:///etc/passwd' }])).toContain('webhooks.0.url');
    expect(problemsOf([{ ...VALID, url: 'not a url' }])).toBe('webhooks.0.url: must be an http:// or https:// URL');
    expect(problemsOf([{ ...VALID, url: 'https://avcare:pw@helpdesk.example.cn/hook' }])).toContain('must not hold a user name or password');
    expect(problemsOf([{ ...VALID, events: [] }])).toContain('webhooks.0.events');
    expect(problemsOf([{ ...VALID, events: ['*', 'ticket.opened'] }])).toContain('webhooks.0.events');
    expect(problemsOf([{ ...VALID, events: ['TicketOpened'] }])).toContain('webhooks.0.events');
    expect(problemsOf([VALID, { ...VALID, url: 'https://other.example.cn/' }])).toContain('webhooks.1.id: the id zammad-main is used twice');
  });

  it('names the secret field in a refusal but never its value', () => {
    const shortSecret = 'tooShort-9f2';
    const message = problemsOf([{ ...VALID, secret: shortSecret }]);
    expect(message).toContain('webhooks.0.secret: must be at least 16 characters');
    expect(message).not.toContain(shortSecret);
  });
});

describe('planWebhookDeliveries', () => {
  const endpoints = parseWebhookEndpoints([
    { ...VALID, id: 'a' },
    { ...VALID, id: 'all', events: ['*'] },
    { ...VALID, id: 'paused', events: ['*'], enabled: false },
  ]);

  it('picks the enabled endpoints that want the event type', () => {
    expect(endpointsForEvent('ticket.opened', endpoints).map((endpoint) => endpoint.id)).toEqual(['a', 'all']);
    expect(endpointsForEvent('ticket.commented', endpoints).map((endpoint) => endpoint.id)).toEqual(['all']);
  });

  it('makes one delivery per endpoint, all with the same body', () => {
    let next = 0;
    const createdAt = new Date('2025-03-03T08:00:00Z');
    const deliveries = planWebhookDeliveries({ id: 'evt-1', type: 'ticket.opened', body: '{"x":1}', createdAt }, endpoints, () => `d${(next += 1)}`);
    expect(deliveries).toEqual([
      { id: 'd1', endpointId: 'a', eventId: 'evt-1', eventType: 'ticket.opened', body: '{"x":1}', createdAt },
      { id: 'd2', endpointId: 'all', eventId: 'evt-1', eventType: 'ticket.opened', body: '{"x":1}', createdAt },
    ]);
  });
});
