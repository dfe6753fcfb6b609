/**
 * Password guessing at the HTTP API, on SQLite and PostgreSQL: the limits hold however many
 * attempts arrive at once (each is reserved before its password is checked), someone else's wrong
 * guesses do not lock the owner out, changing a password is throttled and audited like a sign-in,
 * and behind a reverse proxy named with --trust-proxy the client's own address is what counts.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import type { Security } from '../../cloud/security.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { bearer, testSecurity } from '../helpers/security.js';

describe.each<Backend>(['sqlite', 'postgres'])('sign-in throttling on %s', (backend) => {
  let opened: StoreUnderTest;
  let security: Security;
  let app: FastifyInstance;
  let proxied: FastifyInstance;

  beforeAll(async () => {
    opened = await openTestStore(backend);
    security = (await testSecurity(opened.store)).security;
    const log = pino({ level: 'silent' });
    app = buildApp({ store: opened.store, metrics: new CloudMetrics(), log, security });
    proxied = buildApp({ store: opened.store, metrics: new CloudMetrics(), log, security, trustProxy: ['127.0.0.1'] });
    for (const name of ['burst', 'owner', 'changer', 'proxied-owner']) {
      await security.accounts.create({ name, role: 'it_teacher', schoolId: 'sch-1', password: `${name} right password` }, { actor: 'test', source: null });
    }
  });

  afterAll(async () => {
    await app.close();
    await proxied.close();
    await opened.dispose();
  });

  const login = (on: FastifyInstance, name: string, password: string, remoteAddress: string, forwardedFor?: string): Promise<LightMyRequestResponse> =>
    on.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password }, remoteAddress, ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}) });
  const codes = (responses: readonly LightMyRequestResponse[]): Record<string, number> => {
    const counted: Record<string, number> = {};
    for (const response of responses) {
      const code = response.statusCode === 200 ? 'OK' : (response.json<{ error: { code: string } }>().error.code);
      counted[code] = (counted[code] ?? 0) + 1;
    }
    return counted;
  };
  const auditedFailures = async (action: string, target: string) => (await security.audit.list({ action })).filter((entry) => entry.target === target && entry.outcome === 'failure');

  it('checks no more passwords than the limit allows when 25 guesses for one account arrive at once', async () => {
    const responses = await Promise.all(Array.from({ length: 25 }, (_, index) => login(app, 'burst', `guess ${index}`, '127.0.0.21')));
    expect(codes(responses)).toEqual({ LOGIN_FAILED: 5, LOGIN_THROTTLED: 20 });
    // Every password that was checked is on the record; none beyond the limit was checked.
    expect(await auditedFailures('auth.login', 'user:burst')).toHaveLength(5);
  });

  it('checks no more than 30 passwords from one address trying many accounts at once', async () => {
    const responses = await Promise.all(Array.from({ length: 40 }, (_, index) => login(app, `sprayed-${index}`, 'Winter2026!', '127.0.0.22')));
    expect(codes(responses)).toEqual({ LOGIN_FAILED: 30, LOGIN_THROTTLED: 10 });
  });

  it('does not lock the owner out when someone else guessed wrong five times from elsewhere', async () => {
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await login(app, 'owner', `not it ${attempt}`, '127.0.0.31')).statusCode).toBe(401);
    const attacker = await login(app, 'owner', 'owner right password', '127.0.0.31');
    expect(attacker.statusCode).toBe(429);
    expect(attacker.json<{ error: { message: string } }>().error.message).toContain('for this account from this address');
    expect((await login(app, 'owner', 'owner right password', '127.0.0.32')).statusCode).toBe(200);
  });

  it('throttles and audits wrong current passwords when changing one\'s password, however many arrive at once', async () => {
    const signedIn = (await login(app, 'changer', 'changer right password', '127.0.0.41')).json<{ token: string }>();
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        app.inject({ method: 'POST', url: '/api/auth/password', payload: { currentPassword: `wrong ${index}`, newPassword: 'a brand new passphrase' }, headers: bearer(signedIn.token), remoteAddress: '127.0.0.41' }),
      ),
    );
    expect(codes(responses)).toEqual({ LOGIN_FAILED: 5, LOGIN_THROTTLED: 7 });
    const failures = await auditedFailures('account.password', 'user:changer');
    expect(failures).toHaveLength(5);
    expect(failures[0]).toMatchObject({ actor: 'user:changer', source: '127.0.0.41', detail: { reason: 'the current password is wrong' } });
    expect(JSON.stringify(failures)).not.toContain('wrong 1');
  });

  it('takes the client address from X-Forwarded-For only when the connection comes from a trusted proxy', async () => {
    // Behind the proxy: one attacker's guesses lock only the attacker's own address.
    for (let attempt = 0; attempt < 5; attempt += 1) expect((await login(proxied, 'proxied-owner', `nope ${attempt}`, '127.0.0.1', '198.51.100.7')).statusCode).toBe(401);
    expect((await login(proxied, 'proxied-owner', 'proxied-owner right password', '127.0.0.1', '198.51.100.7')).statusCode).toBe(429);
    expect((await login(proxied, 'proxied-owner', 'proxied-owner right password', '127.0.0.1', '203.0.113.9')).statusCode).toBe(200);
    const failures = await auditedFailures('auth.login', 'user:proxied-owner');
    expect(new Set(failures.map((entry) => entry.source))).toEqual(new Set(['198.51.100.7']));
    // A connection that is not the proxy cannot choose its own address with the header.
    const spoofed = await login(proxied, 'nobody-here', 'whatever it is', '127.0.0.51', '192.0.2.99');
    expect(spoofed.statusCode).toBe(401);
    expect((await auditedFailures('auth.login', 'user:nobody-here')).map((entry) => entry.source)).toEqual(['127.0.0.51']);
  });

  it('without --trust-proxy ignores X-Forwarded-For, so everyone behind a proxy shares its address', async () => {
    const responses = [];
    for (let attempt = 0; attempt < 6; attempt += 1) responses.push(await login(app, 'ignored-header', `x ${attempt}`, '127.0.0.61', `198.51.100.${attempt}`));
    expect(codes(responses)).toEqual({ LOGIN_FAILED: 5, LOGIN_THROTTLED: 1 });
  });
});
