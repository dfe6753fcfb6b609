/**
 * What the console stands on, at the HTTP API on SQLite and PostgreSQL: browser sessions by cookie
 * with a CSRF token and an idle timeout, the page and its assets with their headers, the paged
 * fleet, rooms that can teach, "test now", the live feed's scope and the audit export's.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../cloud/app.js';
import { ChangeFeed, type LiveChange } from '../../cloud/live/change-feed.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { UNMANAGED_BROKER } from '../../cloud/broker/broker-access.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { accepted, messagesFrom } from '../store/store-messages.js';
import { bearer, testSecurity, type TestSecurity } from '../helpers/security.js';

const DIRECTORY = { ...EMPTY_DIRECTORY, schoolsOfTeam: (team: string) => (team === 'east' ? new Set(['sch-1']) : undefined) };
const PASSWORD = 'a passphrase for the console test';

/** A console build as Vite leaves it: index.html and a hashed script with its brotli and gzip copies. */
function fakeConsoleBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-console-build-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div><script type="module" src="/assets/index-AbC123.js"></script>');
  const script = 'console.log("avcare");'.repeat(200);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), script);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js.br'), brotliCompressSync(script));
  writeFileSync(join(dir, 'assets', 'index-AbC123.js.gz'), gzipSync(script));
  return dir;
}

const setCookieOf = (response: LightMyRequestResponse): string => [response.headers['set-cookie'] ?? []].flat().join('\n');
const sessionCookie = (response: LightMyRequestResponse): string => /avcare_session=([^;]+)/.exec(setCookieOf(response))?.[1] ?? '';

describe.each<Backend>(['sqlite', 'postgres'])('the console\'s API on %s', (backend) => {
  let opened: StoreUnderTest;
  let app: FastifyInstance;
  let auth: TestSecurity;
  const asked: string[] = [];

  beforeAll(async () => {
    opened = await openTestStore(backend);
    auth = await testSecurity(opened.store, { directory: DIRECTORY });
    auth.security.registry.attachBroker(UNMANAGED_BROKER);
    await auth.security.accounts.create({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1', teamId: null, password: PASSWORD }, { actor: 'test', source: null });
    await auth.security.accounts.create({ name: 'teacher-sch2', role: 'it_teacher', schoolId: 'sch-2', teamId: null, password: PASSWORD }, { actor: 'test', source: null });
    app = buildApp({
      store: opened.store,
      metrics: new CloudMetrics(),
      log: pino({ level: 'silent' }),
      security: auth.security,
      consoleDir: fakeConsoleBuild(),
      askToTest: (agent) => {
        asked.push(`${agent.schoolId}:${agent.agentId}`);
        return Promise.resolve('11111111-1111-4111-8111-111111111111');
      },
    });
    // Five PCs: four in school 1 (one offline, one with a critical fault), one in school 2.
    for (const [school, room, agent] of [['sch-1', 'r101', 'pc-01'], ['sch-1', 'r101', 'pc-02'], ['sch-1', 'lab-a', 'pc-03'], ['sch-1', 'r102', 'pc-04'], ['sch-2', 'r201', 'pc-05']] as const) {
      const from = messagesFrom({ schoolId: school, roomId: room, agentId: agent });
      const now = new Date().toISOString();
      await opened.store.ingest([accepted(from.status(agent === 'pc-04' ? 'offline' : 'online', { at: now, ...(agent === 'pc-04' ? { reason: 'last will' } : {}) }))]);
      if (agent === 'pc-03') await opened.store.ingest([accepted(from.fault('raised', { at: now, severity: 'critical' }))]);
    }
  });

  afterAll(async () => {
    await app.close();
    await opened.dispose();
  });

  async function consoleSignIn(name: string): Promise<{ cookie: string; csrf: string; response: LightMyRequestResponse }> {
    const response = await app.inject({ method: 'POST', url: '/api/auth/session', payload: { name, password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    return { cookie: sessionCookie(response), csrf: response.json<{ csrfToken: string }>().csrfToken, response };
  }

  it('signs the console in with an HttpOnly, SameSite=Strict cookie: no token in the page, a CSRF token instead', async () => {
    const { cookie, csrf, response } = await consoleSignIn('admin-sch1');
    expect(setCookieOf(response)).toMatch(/avcare_session=avc_at_[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict/);
    // Plain http on loopback: Secure would make the browser drop it; over TLS it is set (setSessionCookie).
    expect(setCookieOf(response)).not.toContain('Secure');
    expect(response.json()).toMatchObject({ account: { name: 'admin-sch1', role: 'school_admin' }, idleMinutes: 30 });
    expect(response.body).not.toContain(cookie);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const me = await app.inject({ url: '/api/auth/session', headers: { cookie: `avcare_session=${cookie}` } });
    expect(me.json()).toMatchObject({ signedIn: true, account: { name: 'admin-sch1' }, csrfToken: csrf, timeZone: 'Asia/Shanghai' });
    expect((await app.inject({ url: '/api/auth/session' })).json()).toEqual({ signedIn: false });
    expect((await app.inject({ url: '/api/auth/session', headers: { cookie: 'avcare_session=avc_at_forged' } })).json()).toEqual({ signedIn: false });
  });

  it('marks the cookie Secure when the console came over TLS (here through a trusted proxy that terminated it)', async () => {
    const behindProxy = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: auth.security, consoleDir: false, trustProxy: ['127.0.0.1'] });
    const response = await behindProxy.inject({ method: 'POST', url: '/api/auth/session', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' }, payload: { name: 'admin-sch1', password: PASSWORD } });
    expect(response.statusCode, response.body).toBe(200);
    expect(setCookieOf(response)).toMatch(/avcare_session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict/);
    await behindProxy.close();
  });

  it('refuses a change made with the cookie alone or a wrong CSRF token, before it reaches the route; bearer tokens need none', async () => {
    const { cookie, csrf } = await consoleSignIn('admin-sch1');
    const create = (headers: Record<string, string>) => app.inject({ method: 'POST', url: '/api/enroll-tokens', headers, payload: { school: 'sch-1' } });
    // One character off (never the same character: a token ending in "A" must still come out wrong).
    const wrong = `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;
    for (const headers of [{ cookie: `avcare_session=${cookie}` }, { cookie: `avcare_session=${cookie}`, 'x-csrf-token': wrong }, { cookie: `avcare_session=${cookie}`, 'x-csrf-token': '' }]) {
      const refused = await create(headers);
      expect({ status: refused.statusCode, code: refused.json<{ error: { code: string } }>().error.code }).toEqual({ status: 403, code: 'CSRF_TOKEN_MISSING' });
    }
    expect((await create({ cookie: `avcare_session=${cookie}`, 'x-csrf-token': csrf })).statusCode).toBe(200);
    // Reads need no token: a link or a reload carries only the cookie.
    expect((await app.inject({ url: '/api/agents', headers: { cookie: `avcare_session=${cookie}` } })).statusCode).toBe(200);
    expect((await create(bearer(auth.operatorToken))).statusCode).toBe(200);
    // Another session's token does not fit this one.
    const other = await consoleSignIn('admin-sch1');
    expect((await create({ cookie: `avcare_session=${cookie}`, 'x-csrf-token': other.csrf })).statusCode).toBe(403);
  });

  it('ends a console session after 30 minutes without a request, and at sign-out (the cookie cleared)', async () => {
    const idle = await consoleSignIn('admin-sch1');
    const headers = { cookie: `avcare_session=${idle.cookie}` };
    expect((await app.inject({ url: '/api/agents', headers })).statusCode).toBe(200);
    const id = (await app.inject({ url: '/api/me', headers })).json<{ currentTokenId: string }>().currentTokenId;
    const longAgo = Date.now() - 31 * 60_000;
    await opened.store.database.execute('UPDATE api_tokens SET created_at = $1, last_used_at = $1 WHERE id = $2', [longAgo, id]);
    expect((await app.inject({ url: '/api/agents', headers })).statusCode).toBe(401);
    // A CLI token of the same age and silence lives on: only the console's sessions have an idle limit.
    const cliId = (await app.inject({ url: '/api/me', headers: bearer(auth.operatorToken) })).json<{ currentTokenId: string }>().currentTokenId;
    await opened.store.database.execute('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [longAgo, cliId]);
    expect((await app.inject({ url: '/api/agents', headers: bearer(auth.operatorToken) })).statusCode).toBe(200);

    const leaving = await consoleSignIn('admin-sch1');
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: `avcare_session=${leaving.cookie}`, 'x-csrf-token': leaving.csrf } });
    expect(out.statusCode).toBe(200);
    expect(setCookieOf(out)).toMatch(/avcare_session=; .*Expires=Thu, 01 Jan 1970/);
    expect((await app.inject({ url: '/api/agents', headers: { cookie: `avcare_session=${leaving.cookie}` } })).statusCode).toBe(401);
  });

  it('serves the page with a strict CSP at / and at the page\'s own paths, hashed assets compressed and cached a year', async () => {
    for (const url of ['/', '/fleet', '/tickets/TK-ABCDEFGH']) {
      const page = await app.inject({ url, headers: { accept: 'text/html' } });
      expect(page.statusCode, url).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['x-frame-options']).toBe('DENY');
    }
    const brotli = await app.inject({ url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'br, gzip' } });
    expect(brotli.statusCode).toBe(200);
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(Number(brotli.headers['content-length'])).toBeLessThan(200);
    expect((await app.inject({ url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding']).toBe('gzip');
    // A path that climbs out of the assets folder reaches no file: it is the page's own path, answered with the page.
    for (const url of ['/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json']) {
      const climbing = await app.inject({ url });
      expect(climbing.body, url).not.toContain('"name"');
    }
    expect((await app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);
    // The API stays the API: JSON at /api, an unknown API path 401 to a stranger and 404 to someone signed in.
    expect((await app.inject({ url: '/api/nothing', headers: { accept: 'text/html' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/nothing', headers: bearer(auth.operatorToken) })).json()).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
    expect((await app.inject({ url: '/favicon.ico', headers: { accept: 'image/*' } })).statusCode).toBe(404);
  });

  it('says how to build the console when this installation has none', async () => {
    const bare = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: auth.security, consoleDir: false });
    const answer = await bare.inject({ url: '/', headers: { accept: 'text/html' } });
    expect(answer.statusCode).toBe(503);
    expect(answer.json<{ error: { code: string; message: string } }>().error.code).toBe('CONSOLE_NOT_BUILT');
    expect(answer.json<{ error: { code: string; message: string } }>().error.message).toContain('npm run build');
    await bare.close();
  });

  it('pages the fleet on the server, searches school, PC and room, filters faults, and keeps to the reader\'s scope', async () => {
    const list = async (query: string, who = bearer(auth.operatorToken)) => (await app.inject({ url: `/api/agents?${query}`, headers: who })).json<{ agents: Array<{ id: string; worstSeverity: string | null }>; total: number }>();
    const page = await list('limit=2&offset=2');
    expect(page).toMatchObject({ total: 5 });
    expect(page.agents.map((agent) => agent.id)).toEqual(['sch-1:pc-03', 'sch-1:pc-04']);
    expect(page.agents[0]?.worstSeverity).toBe('critical');
    expect((await list('q=LAB')).agents.map((agent) => agent.id)).toEqual(['sch-1:pc-03']);
    expect((await list('q=sch-2')).agents.map((agent) => agent.id)).toEqual(['sch-2:pc-05']);
    // LIKE's wildcards in the search are text.
    expect((await list('q=%25')).total).toBe(0);
    expect((await list('q=pc_0')).total).toBe(0);
    expect((await list('faults=true')).agents.map((agent) => agent.id)).toEqual(['sch-1:pc-03']);
    const teacher = bearer(await auth.tokenFor({ name: 'teacher-sch2', role: 'it_teacher', schoolId: 'sch-2' }));
    expect(await list('limit=50', teacher)).toMatchObject({ total: 1, agents: [{ id: 'sch-2:pc-05' }] });
    const refused = (await app.inject({ url: '/api/agents?limit=0', headers: bearer(auth.operatorToken) })).json<{ error: { code: string; message: string } }>().error;
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.message).toContain('limit');
  });

  it('shows each PC\'s newest network and A/V sync verdicts in the fleet list, a late older result not replacing a newer one', async () => {
    const pc02 = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-02' };
    const measured = (name: string, at: number, result: Record<string, unknown>, value: number) =>
      accepted({ ...messagesFrom(pc02).measurement({ at: new Date(at).toISOString() }), name, value, unit: name === 'network' ? 'MOS' : 'ms', details: { status: 'done', trigger: 'schedule', result } });
    const now = Date.now();
    await opened.store.ingest([measured('network', now - 60_000, { test: 'network', verdict: 'below-targets' }, 3.9), measured('avsync', now - 60_000, { test: 'avsync', summary: { verdict: 'imperceptible' } }, 12)]);
    await opened.store.ingest([measured('network', now - 120_000, { test: 'network', verdict: 'poor' }, 2.1)]);
    const [agent] = (await app.inject({ url: '/api/agents?q=pc-02', headers: bearer(auth.operatorToken) })).json<{ agents: Array<{ lastNetwork: unknown; lastAvSync: unknown }> }>().agents;
    expect(agent?.lastNetwork).toEqual({ at: new Date(now - 60_000).toISOString(), verdict: 'below-targets', value: 3.9, unit: 'MOS' });
    expect(agent?.lastAvSync).toMatchObject({ verdict: 'imperceptible', value: 12, unit: 'ms' });
  });

  it('tells per room whether it can teach now, and why not', async () => {
    const admin = bearer(await auth.tokenFor({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1' }));
    const { schools } = (await app.inject({ url: '/api/rooms', headers: admin })).json<{ schools: Array<{ schoolId: string; rooms: Array<{ roomId: string; readiness: string; reasons: string[]; online: number; agents: number }> }> }>();
    expect(schools.map((school) => school.schoolId)).toEqual(['sch-1']);
    expect(schools[0]?.rooms.map((room) => [room.roomId, room.readiness, room.reasons, `${room.online}/${room.agents}`])).toEqual([
      ['lab-a', 'down', ['critical-fault'], '1/1'],
      ['r101', 'ready', [], '2/2'],
      ['r102', 'down', ['no-agent-online'], '0/1'],
    ]);
  });

  it('asks an online PC in scope to test now, audited; an offline one or another school\'s is refused', async () => {
    const admin = bearer(await auth.tokenFor({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1' }));
    const ask = (id: string, who = admin) => app.inject({ method: 'POST', url: `/api/agents/${id}/tests`, headers: who, payload: { tests: ['network'] } });
    const done = await ask('sch-1:pc-01');
    expect(done.json()).toMatchObject({ asked: true, tests: ['network'] });
    expect(asked).toEqual(['sch-1:pc-01']);
    expect((await ask('sch-1:pc-04')).json()).toMatchObject({ error: { code: 'AGENT_OFFLINE' } });
    expect((await ask('sch-2:pc-05')).statusCode).toBe(404);
    expect(asked).toEqual(['sch-1:pc-01']);
    const entries = (await app.inject({ url: '/api/audit?action=agent.test-asked', headers: bearer(auth.operatorToken) })).json<{ entries: Array<{ actor: string; target: string }> }>().entries;
    expect(entries).toEqual([expect.objectContaining({ actor: 'user:admin-sch1', target: 'agent:sch-1:pc-01' })]);
  });

  it('exports the audit log as CSV or JSON, a school admin\'s their school\'s entries only', async () => {
    const admin = bearer(await auth.tokenFor({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1' }));
    const csv = await app.inject({ url: '/api/audit/export?format=csv', headers: admin });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="avcare-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.body.trim().split('\n');
    expect(lines[0]).toBe('seq,at,actor,action,target,outcome,source,schoolId,detail,prevHash,hash');
    expect(lines.length).toBeGreaterThan(1);
    const json = (await app.inject({ url: '/api/audit/export?format=json', headers: admin })).json<Array<{ schoolId: string | null }>>();
    expect(json.length).toBe(lines.length - 1);
    expect(new Set(json.map((entry) => entry.schoolId))).toEqual(new Set(['sch-1']));
    const all = (await app.inject({ url: '/api/audit/export?format=json', headers: bearer(auth.operatorToken) })).json<unknown[]>();
    expect(all.length).toBeGreaterThan(json.length);
  });

  it('feeds live changes to the schools a reader may see, each once', async () => {
    // Later than everything the suite stored so far: the feed reads a few seconds back, and those are not this test's.
    let clock = Date.now() + 60_000;
    const feed = new ChangeFeed({ db: opened.store.database, log: pino({ level: 'silent' }), intervalMs: 3_600_000, now: () => clock });
    const school1: LiveChange[] = [];
    const everyone: LiveChange[] = [];
    const stop1 = feed.watch(new Set(['sch-1']), (change) => school1.push(change));
    const stopAll = feed.watch(undefined, (change) => everyone.push(change));
    const at = new Date(clock + 1000).toISOString();
    await opened.store.ingest([accepted(messagesFrom({ schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' }).status('offline', { at, reason: 'last will' }))]);
    await opened.store.ingest([accepted(messagesFrom({ schoolId: 'sch-2', roomId: 'r201', agentId: 'pc-05' }).fault('raised', { at }))]);
    clock += 2000;
    await feed.read();
    await feed.read();
    expect(school1.map((change) => [change.type, change.schoolId])).toEqual([['agent', 'sch-1']]);
    expect(everyone.map((change) => [change.type, change.schoolId]).sort()).toEqual([['agent', 'sch-1'], ['fault', 'sch-2']]);
    stop1();
    stopAll();
  });
});
