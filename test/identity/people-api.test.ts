/**
 * People at the HTTP API, on SQLite and PostgreSQL: every route but /healthz wants a token; each
 * role does what it may and no more; a person outside a school's scope gets 404 (nothing to
 * probe); brute force is throttled; secrets travel only over TLS or loopback; and every
 * security-relevant act is in the audit log.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { createSecurity, type Security } from '../../cloud/security.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import { validMessage } from '../collector/agent-traffic.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { bearer, TEST_SCRYPT, testSecurity, type TestSecurity } from '../helpers/security.js';
import { UNMANAGED_BROKER } from '../../cloud/broker/broker-access.js';

/** Team east covers sch-1; team west covers sch-2. */
const DIRECTORY = { ...EMPTY_DIRECTORY, schoolsOfTeam: (team: string) => (team === 'east' ? new Set(['sch-1']) : team === 'west' ? new Set(['sch-2']) : undefined) };

describe.each<Backend>(['sqlite', 'postgres'])('people at the API on %s', (backend) => {
  let opened: StoreUnderTest;
  let app: FastifyInstance;
  let auth: TestSecurity;
  let security: Security;
  type Who = 'operator' | 'adminSch1' | 'teacherSch1' | 'teacherSch2' | 'engineerEast' | 'engineerWest';
  const token = {} as Record<Who, { authorization: string }>;

  beforeAll(async () => {
    opened = await openTestStore(backend);
    await opened.store.ingest(['sch-1', 'sch-2'].map((schoolId) => ({ message: validMessage('status', { schoolId, roomId: 'r1', agentId: 'pc-01' }), receivedAt: new Date() })));
    auth = await testSecurity(opened.store, { directory: DIRECTORY });
    security = auth.security;
    security.registry.attachBroker(UNMANAGED_BROKER);
    app = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security });
    token.operator = bearer(auth.operatorToken);
    token.adminSch1 = bearer(await auth.tokenFor({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1' }));
    token.teacherSch1 = bearer(await auth.tokenFor({ name: 'teacher-sch1', role: 'it_teacher', schoolId: 'sch-1' }));
    token.teacherSch2 = bearer(await auth.tokenFor({ name: 'teacher-sch2', role: 'it_teacher', schoolId: 'sch-2' }));
    token.engineerEast = bearer(await auth.tokenFor({ name: 'engineer-east', role: 'engineer', teamId: 'east' }));
    token.engineerWest = bearer(await auth.tokenFor({ name: 'engineer-west', role: 'engineer', teamId: 'west' }));
  });

  afterAll(async () => {
    await app.close();
    await opened.dispose();
  });

  const get = (url: string, headers?: { authorization: string }): Promise<LightMyRequestResponse> => app.inject({ method: 'GET', url, ...(headers ? { headers } : {}) });
  const post = (url: string, payload: object, headers?: { authorization: string }, remoteAddress?: string): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url, payload, ...(headers ? { headers } : {}), ...(remoteAddress ? { remoteAddress } : {}) });
  const code = (response: LightMyRequestResponse): string | undefined => response.json<{ error?: { code: string } }>().error?.code;

  it('refuses every route but /healthz without a token, with an unknown token and with an expired one', async () => {
    const expired = await security.tokens.issue((await security.accounts.byName('teacher-sch1'))?.id ?? '', { ttlHours: 1 });
    await opened.store.database.execute('UPDATE api_tokens SET expires_at = $1 WHERE id = $2', [Date.now() - 1, expired.id]);
    const routes = ['/api', '/api/nothing-here', '/api/agents', '/api/agents/sch-1:pc-01', '/api/enrolled-agents', '/api/enroll-tokens', '/api/users', '/api/audit', '/api/me', '/metrics'];
    for (const url of routes) {
      for (const headers of [undefined, bearer('avc_at_unknown'), bearer(expired.token), { authorization: 'Basic b3BlcmF0b3I6cGFzcw==' }]) {
        const response = await get(url, headers);
        expect({ url, status: response.statusCode, code: code(response) }).toEqual({ url, status: 401, code: 'UNAUTHENTICATED' });
      }
    }
    expect((await get('/healthz')).statusCode).toBe(200);
    expect((await get('/api/agents')).headers['www-authenticate']).toContain('Bearer');
  });

  it('shows each person the fleet of their scope: another school or team answers 404, not 403', async () => {
    const agents = async (who: { authorization: string }) => (await get('/api/agents', who)).json<{ agents: Array<{ id: string }> }>().agents.map((agent) => agent.id);
    expect(await agents(token.operator)).toEqual(['sch-1:pc-01', 'sch-2:pc-01']);
    expect(await agents(token.engineerEast)).toEqual(['sch-1:pc-01']);
    expect(await agents(token.engineerWest)).toEqual(['sch-2:pc-01']);
    expect(await agents(token.teacherSch2)).toEqual(['sch-2:pc-01']);
    for (const who of [token.engineerWest, token.teacherSch2]) {
      const foreign = await get('/api/agents/sch-1:pc-01', who);
      const missing = await get('/api/agents/sch-1:pc-99', who);
      expect(foreign.statusCode).toBe(404);
      // Word for word the answer for an agent that does not exist, but for the id itself.
      expect(foreign.json<{ error: { message: string } }>().error.message.replace('pc-01', 'X')).toBe(missing.json<{ error: { message: string } }>().error.message.replace('pc-99', 'X'));
    }
    expect((await get('/api/agents/sch-1:pc-01', token.engineerEast)).statusCode).toBe(200);
    expect((await get('/api/agents?school=sch-1', token.teacherSch2)).json()).toEqual({ agents: [], total: 0 });
  });

  it('refuses a role what it may not do with 403, within its own scope', async () => {
    expect(code(await post('/api/enroll-tokens', { school: 'sch-1' }, token.teacherSch1))).toBe('FORBIDDEN');
    expect(code(await post('/api/users', { name: 'x-user', role: 'it_teacher', school: 'sch-1' }, token.engineerEast))).toBe('FORBIDDEN');
    expect(code(await get('/api/audit', token.teacherSch1))).toBe('FORBIDDEN');
    expect(code(await get('/metrics', token.adminSch1))).toBe('FORBIDDEN');
    expect(code(await post('/api/agents/sch-1:pc-01/revoke', {}, token.engineerEast))).toBe('FORBIDDEN');
    // A school admin manages the school roles of their own school, nothing else.
    expect((await post('/api/users', { name: 'teacher-new', role: 'it_teacher', school: 'sch-1' }, token.adminSch1)).statusCode).toBe(200);
    expect(code(await post('/api/users', { name: 'teacher-other', role: 'it_teacher', school: 'sch-2' }, token.adminSch1))).toBe('FORBIDDEN');
    expect(code(await post('/api/users', { name: 'op-2', role: 'operator' }, token.adminSch1))).toBe('FORBIDDEN');
    expect(code(await post('/api/users/teacher-sch2/disable', {}, token.adminSch1))).toBe('ACCOUNT_NOT_FOUND');
    expect(code(await post('/api/enroll-tokens', { school: 'sch-2' }, token.adminSch1))).toBe('SCHOOL_NOT_FOUND');
    const listed = (await get('/api/users', token.adminSch1)).json<{ users: Array<{ name: string; schoolId: string }> }>().users;
    expect(new Set(listed.map((user) => user.schoolId))).toEqual(new Set(['sch-1']));
    expect(JSON.stringify(listed)).not.toMatch(/scrypt|password_hash/);
  });

  it('signs in with a password, refuses a wrong one without saying which part was wrong, and throttles guessing', async () => {
    await security.accounts.create({ name: 'guessed', role: 'it_teacher', schoolId: 'sch-1', password: 'correct horse battery' }, { actor: 'test', source: null });
    // An address of its own: refused sign-ins are audited per address, the first five a minute one by one.
    const login = (name: string, password: string, remoteAddress = '127.0.0.71') => post('/api/auth/login', { name, password }, undefined, remoteAddress);
    const wrongPassword = await login('guessed', 'wrong password 1');
    const unknownUser = await login('nobody-at-all', 'wrong password 1');
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json()).toEqual(unknownUser.json());
    for (let attempt = 2; attempt <= 5; attempt += 1) expect((await login('guessed', `wrong password ${attempt}`)).statusCode).toBe(401);
    const throttled = await login('guessed', 'correct horse battery');
    expect(throttled.statusCode).toBe(429);
    expect(code(throttled)).toBe('LOGIN_THROTTLED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // Another account from the same address is not locked by this one's failures.
    expect((await login('admin-sch1', 'admin-sch1-password')).statusCode).toBe(200);
    const failures = (await security.audit.list({ action: 'auth.login' })).filter((entry) => entry.target === 'user:guessed');
    expect(failures.map((entry) => entry.outcome)).toEqual(['failure', 'failure', 'failure', 'failure', 'failure']);
    expect(JSON.stringify(await security.audit.list())).not.toContain('wrong password');
  });

  it('makes a person with a one-time password choose their own before anything else, and signs out', async () => {
    const created = (await post('/api/users', { name: 'new-admin', role: 'school_admin', school: 'sch-1' }, token.operator)).json<{ oneTimePassword: string }>();
    expect(created.oneTimePassword).toMatch(/^[A-Za-z2-9]{20}$/);
    const signedIn = (await post('/api/auth/login', { name: 'new-admin', password: created.oneTimePassword })).json<{ token: string; account: { mustChangePassword: boolean } }>();
    expect(signedIn.account.mustChangePassword).toBe(true);
    const newAdmin = bearer(signedIn.token);
    expect(code(await get('/api/agents', newAdmin))).toBe('PASSWORD_CHANGE_REQUIRED');
    expect((await get('/api/me', newAdmin)).statusCode).toBe(200);
    expect(code(await post('/api/auth/password', { currentPassword: 'not it at all', newPassword: 'a new passphrase' }, newAdmin))).toBe('LOGIN_FAILED');
    expect((await post('/api/auth/password', { currentPassword: created.oneTimePassword, newPassword: 'a new passphrase' }, newAdmin)).statusCode).toBe(200);
    expect((await get('/api/agents', newAdmin)).statusCode).toBe(200);
    expect((await post('/api/auth/logout', {}, newAdmin)).statusCode).toBe(200);
    expect(code(await get('/api/agents', newAdmin))).toBe('UNAUTHENTICATED');
  });

  it('stops a disabled account\'s tokens at once', async () => {
    const doomed = bearer(await auth.tokenFor({ name: 'leaving-teacher', role: 'it_teacher', schoolId: 'sch-1' }));
    expect((await get('/api/agents', doomed)).statusCode).toBe(200);
    expect((await post('/api/users/leaving-teacher/disable', {}, token.adminSch1)).json()).toMatchObject({ user: { disabled: true } });
    expect(code(await get('/api/agents', doomed))).toBe('UNAUTHENTICATED');
    expect(code(await post('/api/auth/login', { name: 'leaving-teacher', password: 'leaving-teacher-password' }))).toBe('LOGIN_FAILED');
    expect((await security.audit.list({ action: 'account.disable' })).map((entry) => entry.actor)).toContain('user:admin-sch1');
  });

  it('refuses credentials over plain http from another machine, unless --insecure-plaintext', async () => {
    const fromNetwork = await post('/api/auth/login', { name: 'admin-sch1', password: 'admin-sch1-password' }, undefined, '192.0.2.44');
    expect(fromNetwork.statusCode).toBe(403);
    expect(code(fromNetwork)).toBe('INSECURE_TRANSPORT');
    expect(code(await app.inject({ method: 'GET', url: '/api/agents', headers: token.operator, remoteAddress: '192.0.2.44' }))).toBe('INSECURE_TRANSPORT');
    expect(code(await post('/api/enroll', { token: 'avc_et_whatever-it-is', installationId: '00000000-0000-4000-8000-000000000000', requestedAgentId: 'pc' }, undefined, '192.0.2.44'))).toBe('INSECURE_TRANSPORT');
    expect((await get('/healthz')).statusCode).toBe(200);

    const lax = createSecurity({ db: opened.store.database, signingKey: security.signingKey, directory: DIRECTORY, agentMqttUrl: () => 'mqtt://x:1883', log: pino({ level: 'silent' }), scryptCost: TEST_SCRYPT, allowPlaintextCredentials: true });
    const laxApp = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: lax });
    expect((await laxApp.inject({ method: 'POST', url: '/api/auth/login', payload: { name: 'admin-sch1', password: 'admin-sch1-password' }, remoteAddress: '192.0.2.44' })).statusCode).toBe(200);
    await laxApp.close();
  });

  it('creates, lists and revokes enrollment tokens and agents through the API, never showing a secret twice', async () => {
    const created = (await post('/api/enroll-tokens', { school: 'sch-1', uses: 3, label: 'building B' }, token.adminSch1)).json<{ token: string; info: { id: string } }>();
    expect(created.token).toMatch(/^avc_et_/);
    const listed = await get('/api/enroll-tokens', token.adminSch1);
    expect(listed.body).not.toContain(created.token);
    expect(listed.json<{ tokens: Array<{ id: string; state: string }> }>().tokens).toEqual(expect.arrayContaining([expect.objectContaining({ id: created.info.id, state: 'active' })]));
    expect((await get('/api/enroll-tokens', token.engineerWest)).statusCode).toBe(403);

    const enrolled = (await post('/api/enroll', { token: created.token, installationId: '11111111-1111-4111-8111-111111111111', requestedAgentId: 'pc-40', roomId: 'r205' })).json<{ agentId: string; mqtt: { password: string } }>();
    expect(enrolled.agentId).toBe('pc-40');
    const agents = await get('/api/enrolled-agents', token.engineerEast);
    expect(agents.body).not.toContain(enrolled.mqtt.password);
    expect(agents.json<{ agents: Array<{ id: string }> }>().agents.map((agent) => agent.id)).toContain('sch-1:pc-40');
    expect((await get('/api/enrolled-agents', token.engineerWest)).json<{ agents: unknown[] }>().agents).toEqual([]);
    expect(code(await post('/api/agents/sch-1:pc-40/revoke', {}, token.teacherSch2))).toBe('FORBIDDEN');
    expect(code(await post('/api/agents/sch-1:pc-40/revoke', {}, bearer(await auth.tokenFor({ name: 'admin-sch2', role: 'school_admin', schoolId: 'sch-2' }))))).toBe('AGENT_NOT_FOUND');
    expect((await post('/api/agents/sch-1:pc-40/revoke', { reason: 'sold' }, token.adminSch1)).json()).toMatchObject({ agent: { id: 'sch-1:pc-40', revokedBy: 'user:admin-sch1' } });
    expect((await post(`/api/enroll-tokens/${created.info.id}/revoke`, {}, token.adminSch1)).json()).toMatchObject({ info: { state: 'revoked' } });
  });

  it('serves the audit log to operators and to a school admin for their school only, and verifies it', async () => {
    const mine = (await get('/api/audit?limit=5000', token.adminSch1)).json<{ entries: Array<{ schoolId: string | null }> }>().entries;
    expect(mine.length).toBeGreaterThan(0);
    expect(new Set(mine.map((entry) => entry.schoolId))).toEqual(new Set(['sch-1']));
    const all = (await get('/api/audit?limit=5000', token.operator)).json<{ entries: Array<{ schoolId: string | null }> }>().entries;
    expect(all.length).toBeGreaterThan(mine.length);
    expect(code(await get('/api/audit/verify', token.adminSch1))).toBe('FORBIDDEN');
    expect((await get('/api/audit/verify', token.operator)).json()).toMatchObject({ ok: true, firstProblem: null });
  });

  it('serves /metrics to an operator or the read-only metrics token', async () => {
    expect((await get('/metrics', token.operator)).statusCode).toBe(200);
    const withToken = createSecurity({ db: opened.store.database, signingKey: security.signingKey, directory: DIRECTORY, agentMqttUrl: () => 'mqtt://x:1883', log: pino({ level: 'silent' }), scryptCost: TEST_SCRYPT, metricsToken: 'prometheus-reads-this-1234' });
    const metricsApp = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: withToken });
    expect((await metricsApp.inject({ url: '/metrics', headers: bearer('prometheus-reads-this-1234') })).statusCode).toBe(200);
    // The metrics token opens /metrics and nothing else.
    expect((await metricsApp.inject({ url: '/api/agents', headers: bearer('prometheus-reads-this-1234') })).statusCode).toBe(401);
    await metricsApp.close();
  });
});
