/**
 * Remote sessions at the cloud's API, on SQLite and PostgreSQL: who may ask, who may answer, what
 * a command may be, what time does to a session, and what agents may say about it. Each refusal
 * is checked for its reason and its audit entry; each message to an agent for its signature. The
 * agent's side is driven through the session router with the agent's broker identity, as the
 * embedded broker hands it over (the end-to-end test runs a real agent).
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkSignature } from '../../protocol/signed-payload.js';
import { agentSessionTopic, cloudSessionMessageSchema, signedSessionPayloadSchema, type AgentSessionMessage, type SignedSessionPayload } from '../../protocol/remote-session.js';
import { buildApp } from '../../cloud/app.js';
import { UNMANAGED_BROKER } from '../../cloud/broker/broker-access.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { startSessions, type RunningSessions } from '../../cloud/sessions/start-sessions.js';
import { remoteSessionPolicySchema, type RemoteSessionPolicy } from '../../cloud/sessions/session-policy.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import { validMessage } from '../collector/agent-traffic.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { bearer, testSecurity, type TestSecurity } from '../helpers/security.js';
import { eventually } from '../cloud/cloud-process.js';

const POLICIES: Record<string, RemoteSessionPolicy> = {
  'sch-1': remoteSessionPolicySchema.parse({ maxMinutes: 90, approvers: 'school-admin-or-pc' }),
  'sch-2': remoteSessionPolicySchema.parse({ approvers: 'school-admin' }),
};
/** Team east covers sch-1 and sch-2; team west covers sch-3. */
const DIRECTORY = {
  ...EMPTY_DIRECTORY,
  schoolsOfTeam: (team: string) => (team === 'east' ? new Set(['sch-1', 'sch-2']) : team === 'west' ? new Set(['sch-3']) : undefined),
  remoteSessions: (school: string) => POLICIES[school] ?? remoteSessionPolicySchema.parse({}),
};

describe.each<Backend>(['sqlite', 'postgres'])('remote sessions at the API on %s', (backend) => {
  let opened: StoreUnderTest;
  let app: FastifyInstance;
  let auth: TestSecurity;
  let remote: RunningSessions;
  let clock = Date.parse('2026-12-04T09:00:00Z');
  const sent: Array<{ topic: string; payload: SignedSessionPayload }> = [];
  type Who = 'operator' | 'admin1' | 'admin2' | 'teacher1' | 'east' | 'east2' | 'west';
  const token = {} as Record<Who, { authorization: string }>;

  beforeAll(async () => {
    opened = await openTestStore(backend);
    await opened.store.ingest(['sch-1', 'sch-2', 'sch-3'].flatMap((schoolId) => ['pc-01', 'pc-02'].map((agentId) => ({ message: validMessage('status', { schoolId, roomId: 'r1', agentId }), receivedAt: new Date() }))));
    auth = await testSecurity(opened.store, { directory: DIRECTORY });
    auth.security.registry.attachBroker(UNMANAGED_BROKER);
    remote = startSessions({
      store: opened.store,
      security: auth.security,
      publish: (topic, payload) => {
        const message = cloudSessionMessageSchema.parse(JSON.parse(payload.toString('utf8')));
        // Every message to an agent carries the cloud's signature over its exact text.
        expect(checkSignature(message.signed, auth.security.signingKey)).toEqual({ ok: true });
        sent.push({ topic, payload: signedSessionPayloadSchema.parse(JSON.parse(message.signed.payload)) });
        return Promise.resolve();
      },
      metrics: new CloudMetrics(),
      log: pino({ level: 'silent' }),
      sweepMs: 3_600_000,
      now: () => new Date(clock),
    });
    app = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: auth.security, sessions: { ...remote, streamCheckMs: 200 } });
    token.operator = bearer(auth.operatorToken);
    token.admin1 = bearer(await auth.tokenFor({ name: 'admin-1', role: 'school_admin', schoolId: 'sch-1' }));
    token.admin2 = bearer(await auth.tokenFor({ name: 'admin-2', role: 'school_admin', schoolId: 'sch-2' }));
    token.teacher1 = bearer(await auth.tokenFor({ name: 'teacher-1', role: 'it_teacher', schoolId: 'sch-1' }));
    token.east = bearer(await auth.tokenFor({ name: 'eng-east', role: 'engineer', teamId: 'east' }));
    token.east2 = bearer(await auth.tokenFor({ name: 'eng-east-2', role: 'engineer', teamId: 'east' }));
    token.west = bearer(await auth.tokenFor({ name: 'eng-west', role: 'engineer', teamId: 'west' }));
  });

  afterAll(async () => {
    await remote?.stop();
    await app?.close();
    await opened?.dispose();
  });

  beforeEach(async () => {
    clock = Date.parse('2026-12-04T09:00:00Z');
    sent.length = 0;
    // Each test starts with no open session.
    await opened.store.database.execute("UPDATE remote_sessions SET state = 'closed' WHERE state = 'pending' OR state = 'active'");
  });

  const post = (url: string, payload: object, who: Who): Promise<LightMyRequestResponse> => app.inject({ method: 'POST', url, payload, headers: token[who] });
  const get = (url: string, who: Who): Promise<LightMyRequestResponse> => app.inject({ method: 'GET', url, headers: token[who] });
  const error = (response: LightMyRequestResponse): { code: string; message: string } | undefined => response.json<{ error?: { code: string; message: string } }>().error;
  const ask = async (body: Partial<{ schoolId: string; agentId: string; reason: string; scopes: string[]; durationMinutes: number }> = {}, who: Who = 'east') =>
    post('/api/sessions', { schoolId: 'sch-1', agentId: 'pc-01', reason: 'camera shows nothing in room 1', scopes: ['reprobe', 'network-test', 'visca-power-cycle'], ...body }, who);
  const askedId = async (body: Parameters<typeof ask>[0] = {}, who: Who = 'east'): Promise<string> => {
    const response = await ask(body, who);
    expect(response.statusCode, response.body).toBe(200);
    return response.json<{ session: { id: string } }>().session.id;
  };
  const agentSays = (school: string, agent: string, message: AgentSessionMessage, as: { schoolId: string; agentId: string } = { schoolId: school, agentId: agent }) =>
    remote.router.accept(agentSessionTopic({ school, room: 'r1', agent }), Buffer.from(JSON.stringify(message)), as);
  /** The app on a real port, for the event stream (inject cannot read one). */
  const listening = async (): Promise<number> => {
    if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const lastAudit = async (action: string) => (await auth.security.audit.list({ action })).at(-1);
  const run = (id: string, action: string, args: object = {}, who: Who = 'east') => post(`/api/sessions/${id}/commands`, { action, args }, who);

  it('sends the school a signed request naming the engineer, the reason, the scopes, the answer time and the policy', async () => {
    const id = await askedId({ durationMinutes: 45 });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toBe('avcare/to/v1/sch-1/pc-01/session');
    expect(sent[0]?.payload).toMatchObject({ kind: 'session-request', sessionId: id, schoolId: 'sch-1', agentId: 'pc-01', engineer: { name: 'eng-east', teamId: 'east' }, durationMinutes: 45, approvers: 'school-admin-or-pc', answerBy: '2026-12-04T09:10:00.000Z' });
    expect((await lastAudit('session.request'))).toMatchObject({ actor: 'user:eng-east', outcome: 'success', target: `session:${id}`, schoolId: 'sch-1' });
    // The school sees it; another school does not.
    expect((await get('/api/sessions?open=true', 'admin1')).json<{ sessions: unknown[] }>().sessions).toHaveLength(1);
    expect((await get('/api/sessions?open=true', 'admin2')).json<{ sessions: unknown[] }>().sessions).toHaveLength(0);
    expect((await get(`/api/sessions/${id}`, 'admin2')).statusCode).toBe(404);
  });

  it('refuses requests from the wrong people and for the wrong things, with the reason, auditing the refusals', async () => {
    const west = await ask({}, 'west');
    expect(west.statusCode).toBe(403);
    expect(error(west)?.message).toBe('school sch-1 is not served by team west');
    expect(await lastAudit('session.request')).toMatchObject({ actor: 'user:eng-west', outcome: 'denied', detail: { reason: 'school sch-1 is not served by team west' } });
    for (const who of ['operator', 'admin1', 'teacher1'] as const) expect(error(await ask({}, who))?.code).toBe('FORBIDDEN');
    expect(error(await ask({ durationMinutes: 120 }))?.message).toBe('durationMinutes: 120 is over the 90 minutes school sch-1 allows');
    expect(error(await ask({ agentId: 'pc-99' }))?.code).toBe('AGENT_NOT_FOUND');
    const shell = await ask({ scopes: ['shell'] });
    expect(shell.statusCode).toBe(400);
    expect(error(shell)?.message).toContain('scopes.0');
    await askedId();
    const twice = await ask({}, 'east2');
    expect(error(twice)?.code).toBe('SESSION_STATE_CONFLICT');
    expect(sent).toHaveLength(1);
  });

  it('lets only the school\'s admin answer in the cloud; privacy scopes only when named', async () => {
    const id = await askedId({ scopes: ['reprobe', 'camera-snapshot'] });
    for (const who of ['teacher1', 'east', 'operator'] as const) expect(error(await post(`/api/sessions/${id}/approve`, {}, who))?.code).toBe('FORBIDDEN');
    const refusedApprovals = (await auth.security.audit.list({ action: 'session.approve' })).filter((entry) => entry.target === `session:${id}` && entry.outcome === 'denied');
    expect(refusedApprovals.map((entry) => entry.actor)).toEqual(['user:teacher-1', 'user:eng-east', 'user:test-operator']);
    expect((await post(`/api/sessions/${id}/approve`, {}, 'admin2')).statusCode).toBe(404);
    expect(await lastAudit('session.approve')).toMatchObject({ actor: 'user:admin-2', outcome: 'denied' });
    const approved = await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    expect(approved.json()).toMatchObject({ session: { state: 'active', scopes: ['reprobe'], answeredBy: 'user:admin-1', expiresAt: '2026-12-04T10:00:00.000Z' } });
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-approved', consent: { approvedBy: 'user:admin-1', scopes: ['reprobe'], sessionExpiresAt: '2026-12-04T10:00:00.000Z' } });
    const snapshot = await run(id, 'camera-snapshot');
    expect(error(snapshot)).toEqual({ code: 'SESSION_SCOPE_DENIED', message: 'camera-snapshot sees or hears the classroom and the school did not grant it by name' });
    expect(await lastAudit('session.command')).toMatchObject({ outcome: 'denied', detail: { action: 'camera-snapshot' } });

    await post(`/api/sessions/${id}/close`, {}, 'east');
    const second = await askedId({ scopes: ['reprobe', 'camera-snapshot'] });
    const granted = await post(`/api/sessions/${second}/approve`, { grant: ['camera-snapshot'] }, 'admin1');
    expect(granted.json()).toMatchObject({ session: { scopes: ['camera-snapshot'] } });
    expect((await run(second, 'camera-snapshot')).statusCode).toBe(200);
    expect(error(await post(`/api/sessions/${second}/approve`, {}, 'admin1'))?.code).toBe('SESSION_STATE_CONFLICT');
  });

  it('signs a command with the consent and the engineer stamped on it, and records the agent\'s result', async () => {
    const id = await askedId();
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    clock += 60_000;
    const response = await run(id, 'visca-power-cycle', { camera: '/dev/ttyUSB0' });
    expect(response.statusCode, response.body).toBe(200);
    const command = response.json<{ command: { id: string; status: string } }>().command;
    expect(command.status).toBe('sent');
    expect(sent.at(-1)?.payload).toMatchObject({
      kind: 'command',
      commandId: command.id,
      sessionId: id,
      engineer: { name: 'eng-east' },
      action: 'visca-power-cycle',
      args: { camera: '/dev/ttyUSB0' },
      issuedAt: '2026-12-04T09:01:00.000Z',
      expiresAt: '2026-12-04T09:03:00.000Z',
      consent: { approvedBy: 'user:admin-1', scopes: ['reprobe', 'network-test', 'visca-power-cycle'], sessionExpiresAt: '2026-12-04T10:00:00.000Z' },
    });
    await agentSays('sch-1', 'pc-01', { type: 'command-result', commandId: command.id, sessionId: id, status: 'ok', result: { camera: '/dev/ttyUSB0', power: 'on' }, startedAt: new Date(clock).toISOString(), finishedAt: new Date(clock).toISOString() });
    const shown = (await get(`/api/sessions/${id}`, 'admin1')).json<{ commands: Array<{ id: string; status: string; result: unknown }> }>();
    expect(shown.commands).toMatchObject([{ id: command.id, status: 'ok', result: { power: 'on' } }]);
    expect(await lastAudit('session.result')).toMatchObject({ actor: 'agent:sch-1:pc-01', outcome: 'success', detail: { commandId: command.id, action: 'visca-power-cycle' } });
    // A refusal by the agent is recorded as one, with its code.
    const refused = (await run(id, 'reprobe')).json<{ command: { id: string } }>().command;
    await agentSays('sch-1', 'pc-01', { type: 'command-result', commandId: refused.id, sessionId: id, status: 'refused', error: { code: 'REPLAYED', message: 'nonce seen before' }, startedAt: new Date(clock).toISOString(), finishedAt: new Date(clock).toISOString() });
    expect(await lastAudit('session.result')).toMatchObject({ outcome: 'denied', detail: { status: 'refused', error: { code: 'REPLAYED' } } });
  });

  it('refuses commands outside the grant, with bad arguments, from another engineer, after revocation and after expiry', async () => {
    const id = await askedId();
    expect(error(await run(id, 'reprobe'))).toEqual({ code: 'SESSION_STATE_CONFLICT', message: `session ${id} is pending: commands run only in an active session` });
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    const cases: Array<[Promise<LightMyRequestResponse>, string, string]> = [
      [run(id, 'fetch-logs'), 'SESSION_SCOPE_DENIED', 'fetch-logs is not among the granted actions (reprobe, network-test, visca-power-cycle)'],
      [run(id, 'visca-power-cycle', { camera: '' }), 'INVALID_ARGUMENT', 'args.camera: Too small: expected string to have >=1 characters'],
      [run(id, 'reprobe', {}, 'east2'), 'FORBIDDEN', `session ${id} was granted to eng-east, not to eng-east-2`],
    ];
    for (const [pending, code, message] of cases) expect(error(await pending)).toEqual({ code, message });
    expect(error(await run(id, 'reprobe', {}, 'west'))?.code).toBe('SESSION_NOT_FOUND');
    const refusals = (await auth.security.audit.list({ action: 'session.command' })).filter((entry) => entry.target === `session:${id}` && entry.outcome === 'denied');
    // The three cases above are sent at once: their refusals are logged in whatever order they finish.
    expect(refusals.map((entry) => entry.actor).sort()).toEqual(['user:eng-east', 'user:eng-east', 'user:eng-east', 'user:eng-east-2', 'user:eng-west']);
    expect(sent.filter((one) => one.payload.kind === 'command')).toHaveLength(0);

    clock += 61 * 60_000;
    expect(error(await run(id, 'reprobe'))?.message).toBe(`session ${id} expired at 2026-12-04T10:00:00.000Z`);
    const counts = await new (await import('../../cloud/sessions/session-sweeper.js')).SessionSweeper(remote.sessions).sweep();
    expect(counts.expired).toBe(1);
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-end', reason: 'expired', by: 'system' });
    expect(await lastAudit('session.expire')).toMatchObject({ actor: 'system', target: `session:${id}` });

    const revoked = await askedId();
    await post(`/api/sessions/${revoked}/approve`, {}, 'admin1');
    expect(error(await post(`/api/sessions/${revoked}/revoke`, {}, 'east'))?.code).toBe('FORBIDDEN');
    expect((await post(`/api/sessions/${revoked}/revoke`, { reason: 'class starts' }, 'admin1')).json()).toMatchObject({ session: { state: 'revoked', endedBy: 'user:admin-1', endReason: 'class starts' } });
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-end', reason: 'revoked', by: 'user:admin-1' });
    expect(error(await run(revoked, 'reprobe'))?.message).toBe(`session ${revoked} is revoked: commands run only in an active session`);
  });

  it('stores and signs a reason without bidirectional controls or line separators, and refuses one with nothing printable', async () => {
    const id = await askedId({ reason: 'camera\u2028OK: approved by the school\u202e gnp.exe\u2066' });
    const shown = (await get(`/api/sessions/${id}`, 'east')).json<{ session: { reason: string } }>();
    expect(shown.session.reason).toBe('camera OK: approved by the school gnp.exe');
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-request', reason: 'camera OK: approved by the school gnp.exe' });
    const empty = await ask({ reason: '\u202e\u2028 \u200f' });
    expect(empty.statusCode).toBe(400);
    expect(error(empty)?.message).toContain('reason');
    expect(error(empty)?.message).toContain('must hold some printable text');
  });

  it('stops a disabled engineer: the token no longer works, the sweep revokes the session and tells the PC', async () => {
    const engineer = bearer(await auth.tokenFor({ name: 'eng-leaving', role: 'engineer', teamId: 'east' }));
    const response = await app.inject({ method: 'POST', url: '/api/sessions', headers: engineer, payload: { schoolId: 'sch-1', agentId: 'pc-02', reason: 'check mic', scopes: ['reprobe'] } });
    const id = response.json<{ session: { id: string } }>().session.id;
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    const account = await auth.security.accounts.byName('eng-leaving');
    await auth.security.accounts.setDisabled(account?.id ?? '', true, { actor: 'user:test-operator', source: null });
    const refused = await app.inject({ method: 'POST', url: `/api/sessions/${id}/commands`, headers: engineer, payload: { action: 'reprobe' } });
    expect(refused.statusCode).toBe(401);
    const counts = await new (await import('../../cloud/sessions/session-sweeper.js')).SessionSweeper(remote.sessions).sweep();
    expect(counts.revoked).toBe(1);
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-end', sessionId: id, reason: 'revoked', by: 'system' });
    expect(await lastAudit('session.revoke')).toMatchObject({ actor: 'system', detail: { note: 'engineer eng-leaving was disabled' } });
    // The service checks the account itself too, not only the token.
    await expect(remote.sessions.run({ accountId: account?.id ?? '', name: 'eng-leaving', role: 'engineer', schoolId: null, teamId: 'east' }, id, 'reprobe', {})).rejects.toThrow('account eng-leaving is disabled');
    expect(await lastAudit('session.command')).toMatchObject({ actor: 'user:eng-leaving', outcome: 'denied', detail: { reason: 'account eng-leaving is disabled' } });
  });

  it('treats no answer as a refusal: the sweep times the request out and tells the PC', async () => {
    const id = await askedId();
    clock += 9 * 60_000;
    const sweeper = new (await import('../../cloud/sessions/session-sweeper.js')).SessionSweeper(remote.sessions);
    expect((await sweeper.sweep()).timedOut).toBe(0);
    clock += 61_000;
    expect(await sweeper.sweep()).toMatchObject({ timedOut: 1 });
    expect((await get(`/api/sessions/${id}`, 'admin1')).json()).toMatchObject({ session: { state: 'timed-out', endedBy: 'system' } });
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'session-end', reason: 'timed-out' });
    expect(await lastAudit('session.timeout')).toMatchObject({ outcome: 'denied', detail: { note: 'no answer in time: refused' } });
    expect(error(await post(`/api/sessions/${id}/approve`, {}, 'admin1'))?.code).toBe('SESSION_STATE_CONFLICT');
  });

  it('takes an approval at the PC where the policy allows it, stamping the PC\'s grant and end; refuses it where only admins approve', async () => {
    const id = await askedId({ scopes: ['reprobe', 'audio-clip'] });
    await agentSays('sch-1', 'pc-01', { type: 'consent-answer', sessionId: id, decision: 'approve', by: 'teacher', at: new Date(clock).toISOString(), expiresAt: '2026-12-04T09:59:30.000Z', scopes: ['reprobe'] });
    expect((await get(`/api/sessions/${id}`, 'east')).json()).toMatchObject({ session: { state: 'active', answeredBy: 'pc:teacher', scopes: ['reprobe'], expiresAt: '2026-12-04T09:59:30.000Z' } });
    await run(id, 'reprobe');
    expect(sent.at(-1)?.payload).toMatchObject({ kind: 'command', consent: { approvedBy: 'pc:teacher', scopes: ['reprobe'], sessionExpiresAt: '2026-12-04T09:59:30.000Z' } });

    const adminsOnly = await askedId({ schoolId: 'sch-2' });
    await agentSays('sch-2', 'pc-01', { type: 'consent-answer', sessionId: adminsOnly, decision: 'approve', by: 'teacher', at: new Date(clock).toISOString() });
    expect((await get(`/api/sessions/${adminsOnly}`, 'east')).json()).toMatchObject({ session: { state: 'pending' } });
    expect(await lastAudit('session.approve')).toMatchObject({ actor: 'pc:teacher', outcome: 'denied', detail: { reason: "the school's policy lets only its admins approve; an approval at the PC does not count" } });
    // A deny at the PC counts under any policy.
    await agentSays('sch-2', 'pc-01', { type: 'consent-answer', sessionId: adminsOnly, decision: 'deny', by: 'teacher', at: new Date(clock).toISOString() });
    expect((await get(`/api/sessions/${adminsOnly}`, 'east')).json()).toMatchObject({ session: { state: 'denied', endedBy: 'pc:teacher' } });
  });

  it('keeps a revocation at the PC final, and refuses an agent speaking for another agent\'s session or command', async () => {
    const id = await askedId();
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    const command = (await run(id, 'reprobe')).json<{ command: { id: string } }>().command;
    // pc-02 of the same school answers for pc-01's command, then for its session.
    await agentSays('sch-1', 'pc-02', { type: 'command-result', commandId: command.id, sessionId: id, status: 'ok', result: 'forged', startedAt: new Date(clock).toISOString(), finishedAt: new Date(clock).toISOString() });
    expect(await lastAudit('session.result')).toMatchObject({ actor: 'agent:sch-1:pc-02', outcome: 'denied', detail: { reason: 'agent pc-02 answered for a command it was not sent' } });
    await agentSays('sch-1', 'pc-02', { type: 'session-revoked', sessionId: id, by: 'someone', at: new Date(clock).toISOString(), reason: null });
    expect(await lastAudit('session.revoke')).toMatchObject({ actor: 'agent:sch-1:pc-02', outcome: 'denied' });
    // On pc-01's topic while authenticated as pc-02 (a broker that does not enforce topics): refused and audited.
    expect(await agentSays('sch-1', 'pc-01', { type: 'session-revoked', sessionId: id, by: 'someone', at: new Date(clock).toISOString(), reason: null }, { schoolId: 'sch-1', agentId: 'pc-02' })).toBe('rejected');
    expect(await lastAudit('session.impersonation')).toMatchObject({ actor: 'agent:sch-1:pc-02', outcome: 'denied' });
    expect((await get(`/api/sessions/${id}`, 'east')).json()).toMatchObject({ session: { state: 'active' }, commands: [{ status: 'sent' }] });

    await agentSays('sch-1', 'pc-01', { type: 'session-revoked', sessionId: id, by: 'teacher', at: new Date(clock).toISOString(), reason: 'lesson starts' });
    expect((await get(`/api/sessions/${id}`, 'east')).json()).toMatchObject({ session: { state: 'revoked', endedBy: 'pc:teacher', endReason: 'revoked at the PC: lesson starts' } });
    expect(error(await post(`/api/sessions/${id}/approve`, {}, 'admin1'))?.code).toBe('SESSION_STATE_CONFLICT');
    expect(error(await run(id, 'reprobe'))?.code).toBe('SESSION_STATE_CONFLICT');
    // A message the agent could not trust is on the record with its code.
    await agentSays('sch-1', 'pc-01', { type: 'message-refused', code: 'BAD_SIGNATURE', reason: 'the signature does not match', at: new Date(clock).toISOString() });
    expect(await lastAudit('session.message-refused')).toMatchObject({ actor: 'agent:sch-1:pc-01', outcome: 'denied', detail: { code: 'BAD_SIGNATURE' } });
  });

  it('drops an agent\'s flood of session messages beyond 120 a minute and counts the refused rest into one audit entry', async () => {
    const before = (await auth.security.audit.list({ action: 'session.revoke', limit: 5000 })).length;
    const outcomes: string[] = [];
    for (let index = 0; index < 130; index += 1) outcomes.push(await agentSays('sch-3', 'pc-02', { type: 'session-revoked', sessionId: '00000000-0000-4000-8000-000000000000', by: 'flood', at: new Date(clock).toISOString(), reason: null }));
    expect(outcomes.filter((outcome) => outcome === 'rejected')).toHaveLength(10);
    // The 120 refused claims that got through are on the record as the first five and one entry counting the rest.
    await auth.security.auditGuard.flush();
    const written = (await auth.security.audit.list({ action: 'session.revoke', limit: 5000 })).slice(before);
    expect(written).toHaveLength(6);
    expect(written[5]?.detail).toMatchObject({ repeated: 115 });
  });

  it('shows a result another cloud process took (same database): to the engineer waiting and to the school watching', async () => {
    const id = await askedId();
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    const port = await listening();
    const stream = await fetch(`http://127.0.0.1:${port}/api/sessions/events?session=${id}`, { headers: token.admin1 });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let live = '';
    const school = await fetch(`http://127.0.0.1:${port}/api/sessions/events`, { headers: token.admin1 });
    const schoolReader = (school.body as ReadableStream<Uint8Array>).getReader();
    let schoolLive = '';
    const other = startSessions({ store: opened.store, security: auth.security, publish: () => Promise.resolve(), metrics: new CloudMetrics(), log: pino({ level: 'silent' }), sweepMs: 3_600_000, now: () => new Date(clock) });
    try {
      const waiting = app.inject({ method: 'POST', url: `/api/sessions/${id}/commands`, payload: { action: 'reprobe', waitSeconds: 20 }, headers: token.east });
      const command = await eventually(() => Promise.resolve(sent.find((one) => one.payload.kind === 'command' && one.payload.sessionId === id)?.payload), 5_000, 'the command');
      const commandId = command.kind === 'command' ? command.commandId : '';
      // The agent's answer reaches the other process.
      await other.router.accept(agentSessionTopic({ school: 'sch-1', room: 'r1', agent: 'pc-01' }), Buffer.from(JSON.stringify({ type: 'command-result', commandId, sessionId: id, status: 'ok', result: { devices: 0 }, startedAt: new Date(clock).toISOString(), finishedAt: new Date(clock).toISOString() })), { schoolId: 'sch-1', agentId: 'pc-01' });
      expect((await waiting).json()).toMatchObject({ command: { id: commandId, status: 'ok', result: { devices: 0 } } });
      // The school's stream reads the session's rows too: the result shows although this process never handled it.
      while (!live.includes('"status":"ok"')) live += Buffer.from((await reader.read()).value ?? new Uint8Array()).toString('utf8');
      // Keep reading past two polls (keep-alives arrive every 200 ms here, so each read returns).
      for (const until = Date.now() + 4_500; Date.now() < until; ) live += Buffer.from((await reader.read()).value ?? new Uint8Array()).toString('utf8');
      const steps = live.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as { command?: { id: string; status: string } });
      // Once, although the rows are read again every 2 s.
      expect(steps.filter((step) => step.command?.id === commandId && step.command.status === 'ok')).toHaveLength(1);
      // The school-wide stream reads what changed in the school's rows: the result shows there too.
      while (!schoolLive.includes(`"id":"${commandId}"`) || !schoolLive.includes('"status":"ok"')) schoolLive += Buffer.from((await schoolReader.read()).value ?? new Uint8Array()).toString('utf8');
    } finally {
      await reader.cancel();
      await schoolReader.cancel();
      await other.stop();
    }
  });

  it('streams each step to the school live, starting with what happened so far', async () => {
    const id = await askedId();
    await post(`/api/sessions/${id}/approve`, {}, 'admin1');
    const port = await listening();
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/api/sessions/events?session=${id}`, { headers: token.admin1, signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const until = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until('"state":"active"');
    const command = (await run(id, 'reprobe')).json<{ command: { id: string } }>().command;
    await until(`"id":"${command.id}"`);
    await agentSays('sch-1', 'pc-01', { type: 'command-result', commandId: command.id, sessionId: id, status: 'failed', error: { code: 'PROBE_FAILED', message: '<script>' }, startedAt: new Date(clock).toISOString(), finishedAt: new Date(clock).toISOString() });
    await until('"status":"failed"');
    expect(text).toContain('event: command');
    controller.abort();
    // A stream ends when its token no longer signs anyone in (revoked, or the account disabled).
    const issued = await auth.security.tokens.issue((await auth.security.accounts.byName('admin-1'))?.id ?? '');
    const revoked = await fetch(`http://127.0.0.1:${port}/api/sessions/events?session=${id}`, { headers: { authorization: `Bearer ${issued.token}` } });
    const revokedReader = (revoked.body as ReadableStream<Uint8Array>).getReader();
    expect(Buffer.from((await revokedReader.read()).value ?? new Uint8Array()).toString()).toContain('event: session');
    await auth.security.tokens.revoke((await auth.security.accounts.byName('admin-1'))?.id ?? '', issued.id);
    // The stream ends (rather than the test timing out) within a check period.
    let ended = false;
    while (!ended) ended = (await revokedReader.read()).done;
    expect(ended).toBe(true);
    // Another school's admin cannot watch it.
    expect((await get(`/api/sessions/events?session=${id}`, 'admin2')).statusCode).toBe(404);
  });
});
