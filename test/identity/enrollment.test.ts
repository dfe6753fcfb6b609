/**
 * Enrollment on SQLite and PostgreSQL: tokens expire, run out and can be revoked, each refused
 * with its reason; enrolling again is idempotent; a one-use token enrolls exactly one PC even
 * when many try at once; everything leaves an audit entry.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AvcareError, type EnrollRequest } from '../../protocol/index.js';
import { UNMANAGED_BROKER, type AgentBrokerAccount, type BrokerAccess } from '../../cloud/broker/broker-access.js';
import type { Security } from '../../cloud/security.js';
import { agentKey } from '../../cloud/store/store.js';
import { openTestStore, type Backend, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { testPcKey } from '../helpers/pc-key.js';
import { testSecurity } from '../helpers/security.js';

const BY = { actor: 'user:admin-zhang', source: '10.1.2.3' };

describe.each<Backend>(['sqlite', 'postgres'])('enrollment on %s', (backend) => {
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await opened?.dispose();
    opened = undefined;
  });

  /** The broker calls enrollment makes, recorded (the broker suites test real brokers). */
  function recordingBroker(): BrokerAccess & { granted: string[]; revoked: string[] } {
    const granted: string[] = [];
    const revoked: string[] = [];
    return {
      description: 'recording',
      granted,
      revoked,
      grantAgent: (account: AgentBrokerAccount) => Promise.resolve(void granted.push(account.username)),
      revokeAgent: (account: AgentBrokerAccount) => Promise.resolve(void revoked.push(account.username)),
      grantReflector: (account) => Promise.resolve(void granted.push(account.username)),
      revokeReflector: (account) => Promise.resolve(void revoked.push(account.username)),
    };
  }

  async function setUp(broker: BrokerAccess = UNMANAGED_BROKER): Promise<Security> {
    opened = await openTestStore(backend);
    const { security } = await testSecurity(opened.store, { agentMqttUrl: 'mqtts://cloud.example:8883' });
    security.registry.attachBroker(broker);
    return security;
  }

  const request = (token: string, overrides: Partial<EnrollRequest> = {}): EnrollRequest => ({ token, installationId: randomUUID(), requestedAgentId: 'pc-01', roomId: 'r101', hostname: 'PC-01', ...overrides });
  const refusal = async (work: Promise<unknown>): Promise<string> => {
    try {
      await work;
    } catch (error) {
      if (error instanceof AvcareError) return error.code;
      throw error;
    }
    throw new Error('enrollment was not refused');
  };

  it('enrolls a PC with a token: an agent id, MQTT credentials only its hash is kept of, the cloud\'s key, an audit entry', async () => {
    const broker = recordingBroker();
    const security = await setUp(broker);
    const { token, info } = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    expect(info).toMatchObject({ schoolId: 'sch-1', maxUses: 1, uses: 0, state: 'active', createdBy: 'user:admin-zhang' });
    expect(Date.parse(info.expiresAt) - Date.parse(info.createdAt)).toBe(7 * 24 * 3_600_000);

    const answer = await security.enrollment.enroll(request(token), '10.9.8.7', 'cloud.example');
    expect(answer).toMatchObject({ schoolId: 'sch-1', agentId: 'pc-01', roomId: 'r101', reenrolled: false, mqtt: { url: 'mqtts://cloud.example:8883', username: 'sch-1:pc-01', clientId: 'avcare-agent:sch-1:pc-01' } });
    expect(answer.mqtt.password).toMatch(/^avc_ms_[A-Za-z0-9_-]{43}$/);
    expect(answer.signingKey).toMatchObject({ algorithm: 'Ed25519', keyId: security.signingKey.keyId });
    expect(broker.granted).toEqual(['sch-1:pc-01']);
    expect(await security.registry.verifyMqtt('sch-1:pc-01', answer.mqtt.password)).toMatchObject({ schoolId: 'sch-1', agentId: 'pc-01' });
    // Neither the token nor the secret is stored, only their hashes.
    const dump = JSON.stringify([...(await opened?.store.database.query('SELECT * FROM agent_credentials') ?? []), ...(await opened?.store.database.query('SELECT * FROM enroll_tokens') ?? [])]);
    expect(dump).not.toContain(answer.mqtt.password);
    expect(dump).not.toContain(token);
    const entries = await security.audit.list({ action: 'agent.enroll' });
    expect(entries).toMatchObject([{ actor: expect.stringMatching(/^installation:/) as string, target: 'agent:sch-1:pc-01', outcome: 'success', source: '10.9.8.7', schoolId: 'sch-1' }]);
    expect(JSON.stringify(entries)).not.toContain(answer.mqtt.password);
  });

  it('enrolling the same PC again is idempotent: the same agent, fresh credentials, no use taken', async () => {
    const security = await setUp();
    const { token, info } = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    const pc = testPcKey();
    const first = request(token);
    const once = await security.enrollment.enroll(pc.proven(security.enrollment, first), '10.0.0.1', 'h');
    const again = await security.enrollment.enroll(pc.proven(security.enrollment, { ...first, roomId: undefined }), '10.0.0.1', 'h');
    expect(again).toMatchObject({ agentId: once.agentId, roomId: 'r101', reenrolled: true });
    expect(again.mqtt.password).not.toBe(once.mqtt.password);
    expect(await security.registry.verifyMqtt(once.mqtt.username, once.mqtt.password)).toBeUndefined();
    expect(await security.registry.verifyMqtt(again.mqtt.username, again.mqtt.password)).toBeDefined();
    expect((await security.enrollTokens.get(info.id))?.uses).toBe(1);
    expect(await security.registry.list()).toHaveLength(1);
    expect((await security.audit.list({ action: 'agent.enroll' })).map((entry) => entry.detail.proof)).toEqual(['key', 'key']);
  });

  it('refuses whoever knows the token and the installation id but not the PC\'s key: the real PC stays connected', async () => {
    const security = await setUp();
    const { token } = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 5 }, BY);
    const pc = testPcKey();
    const enrolled = request(token);
    const real = await security.enrollment.enroll(pc.proven(security.enrollment, enrolled), '10.0.0.1', 'h');
    // The installation id is no secret (it is in the audit log): an attacker sends it without a proof, with their own key, or replays a proof.
    const attacker = testPcKey();
    const attempts = [
      { ...enrolled },
      attacker.proven(security.enrollment, enrolled),
      { ...attacker.proven(security.enrollment, enrolled), publicKey: pc.publicKey },
      { ...enrolled, currentSecret: 'avc_ms_guessed-secret-that-is-not-it-000000000' },
    ];
    for (const attempt of attempts) expect(await refusal(security.enrollment.enroll(attempt, '203.0.113.9', 'h'))).toBe('ENROLL_NOT_SAME_PC');
    const replayed = pc.proven(security.enrollment, enrolled);
    await security.enrollment.enroll(replayed, '10.0.0.1', 'h');
    const afterReplay = await refusal(security.enrollment.enroll(replayed, '203.0.113.9', 'h'));
    expect(afterReplay).toBe('ENROLL_NOT_SAME_PC');
    // A proof for another installation or token proves nothing here either.
    const otherToken = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    const forOther = pc.proven(security.enrollment, { ...enrolled, token: otherToken.token });
    expect(await refusal(security.enrollment.enroll({ ...forOther, token }, '203.0.113.9', 'h'))).toBe('ENROLL_NOT_SAME_PC');
    // The real PC was never kicked off: its latest credentials still work.
    const latest = await security.registry.list();
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ agentId: real.agentId, revokedAt: null, hasKey: true });
    // Each refusal is on the record: the first five one by one, the rest from that address counted into one entry.
    await security.auditGuard.flush();
    const failures = (await security.audit.list({ action: 'agent.enroll' })).filter((entry) => entry.outcome === 'failure');
    expect(new Set(failures.map((entry) => entry.detail.reason))).toEqual(new Set(['ENROLL_NOT_SAME_PC']));
    expect(failures.reduce((sum, entry) => sum + (typeof entry.detail.repeated === 'number' ? entry.detail.repeated : 1), 0)).toBe(6);
  });

  it('lets a PC enrolled before keys prove itself with its current credential once, and requires its key from then on', async () => {
    const security = await setUp();
    const { token } = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 3 }, BY);
    const legacy = request(token);
    const old = await security.enrollment.enroll(legacy, '10.0.0.1', 'h');
    expect((await security.registry.list())[0]?.hasKey).toBe(false);
    expect(await refusal(security.enrollment.enroll(legacy, '10.0.0.1', 'h'))).toBe('ENROLL_NOT_SAME_PC');
    const pc = testPcKey();
    const upgraded = await security.enrollment.enroll(pc.proven(security.enrollment, { ...legacy, currentSecret: old.mqtt.password }), '10.0.0.1', 'h');
    expect(upgraded).toMatchObject({ agentId: old.agentId, reenrolled: true });
    expect((await security.registry.list())[0]?.hasKey).toBe(true);
    // Its credential alone no longer does: the key is required now.
    expect(await refusal(security.enrollment.enroll({ ...legacy, currentSecret: upgraded.mqtt.password }, '10.0.0.1', 'h'))).toBe('ENROLL_NOT_SAME_PC');
    expect((await security.audit.list({ action: 'agent.enroll' })).filter((entry) => entry.outcome === 'success').map((entry) => entry.detail.proof)).toEqual(['none', 'credential']);
  });

  it('refuses a used-up, an expired, a revoked and an unknown token, each with its reason and an audit entry', async () => {
    const security = await setUp();
    const used = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 2 }, BY);
    await security.enrollment.enroll(request(used.token), '10.0.0.1', 'h');
    await security.enrollment.enroll(request(used.token, { requestedAgentId: 'pc-02' }), '10.0.0.1', 'h');
    expect(await refusal(security.enrollment.enroll(request(used.token, { requestedAgentId: 'pc-03' }), '10.0.0.1', 'h'))).toBe('ENROLL_TOKEN_USED_UP');

    const expired = await security.enrollTokens.create({ schoolId: 'sch-1', ttlHours: 1 }, BY);
    await opened?.store.database.execute('UPDATE enroll_tokens SET expires_at = $1 WHERE id = $2', [Date.now() - 1000, expired.info.id]);
    expect(await refusal(security.enrollment.enroll(request(expired.token), '10.0.0.1', 'h'))).toBe('ENROLL_TOKEN_EXPIRED');

    const revoked = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    expect(await security.enrollTokens.revoke(revoked.info.id, BY)).toMatchObject({ state: 'revoked', revokedBy: 'user:admin-zhang' });
    expect(await refusal(security.enrollment.enroll(request(revoked.token), '10.0.0.1', 'h'))).toBe('ENROLL_TOKEN_REVOKED');
    expect(await refusal(security.enrollment.enroll(request('avc_et_this-token-was-never-made'), '10.0.0.1', 'h'))).toBe('ENROLL_TOKEN_UNKNOWN');

    const failures = (await security.audit.list({ action: 'agent.enroll' })).filter((entry) => entry.outcome === 'failure');
    expect(failures.map((entry) => entry.detail.reason)).toEqual(['ENROLL_TOKEN_USED_UP', 'ENROLL_TOKEN_EXPIRED', 'ENROLL_TOKEN_REVOKED', 'ENROLL_TOKEN_UNKNOWN']);
    expect(await security.registry.list()).toHaveLength(2);
    const states = (await security.enrollTokens.list()).map((token) => token.state).sort();
    expect(states).toEqual(['expired', 'revoked', 'used-up']);
  });

  it('throttles an address that keeps failing, before the database, and lets others enroll', async () => {
    const security = await setUp();
    for (let attempt = 0; attempt < 30; attempt += 1) {
      expect(await refusal(security.enrollment.enroll(request(`avc_et_guess-number-${attempt}-xxxxxxxx`), '198.51.100.7', 'h'))).toBe('ENROLL_TOKEN_UNKNOWN');
    }
    const audited = (await security.audit.list({ action: 'agent.enroll' })).length;
    expect(await refusal(security.enrollment.enroll(request('avc_et_guess-number-31-xxxxxxxx'), '198.51.100.7', 'h'))).toBe('ENROLL_THROTTLED');
    expect((await security.audit.list({ action: 'agent.enroll' })).length).toBe(audited);
    const { token } = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    expect((await security.enrollment.enroll(request(token), '198.51.100.8', 'h')).agentId).toBe('pc-01');
  });

  it('a one-use token enrolls exactly one of many PCs enrolling at the same moment', async () => {
    const security = await setUp();
    const { token, info } = await security.enrollTokens.create({ schoolId: 'sch-1' }, BY);
    const attempts = await Promise.allSettled(Array.from({ length: 12 }, (_, index) => security.enrollment.enroll(request(token, { requestedAgentId: `pc-${index}` }), '10.0.0.1', 'h')));
    const enrolled = attempts.filter((attempt) => attempt.status === 'fulfilled');
    const refused = attempts.filter((attempt): attempt is PromiseRejectedResult => attempt.status === 'rejected');
    expect(enrolled).toHaveLength(1);
    expect(refused.map((attempt) => (attempt.reason as AvcareError).code)).toEqual(Array.from({ length: 11 }, () => 'ENROLL_TOKEN_USED_UP'));
    expect((await security.enrollTokens.get(info.id))?.uses).toBe(1);
    expect(await security.registry.list()).toHaveLength(1);
  });

  it('gives two PCs with one host name distinct agent ids; a revoked PC comes back as a new agent, or as itself once an admin readmitted it', async () => {
    const broker = recordingBroker();
    const security = await setUp(broker);
    const tokens = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 2 }, BY);
    const pc = testPcKey();
    const first = request(tokens.token);
    expect((await security.enrollment.enroll(pc.proven(security.enrollment, first), '10.0.0.1', 'h')).agentId).toBe('pc-01');
    expect((await security.enrollment.enroll(testPcKey().proven(security.enrollment, request(tokens.token)), '10.0.0.2', 'h')).agentId).toBe('pc-01-2');

    await security.registry.revoke(agentKey('sch-1', 'pc-01'), BY, 'reimaged');
    expect(broker.revoked).toEqual(['sch-1:pc-01']);
    // A revoked PC needs a token with a use left: its old, used-up one does not bring it back...
    expect(await refusal(security.enrollment.enroll(pc.proven(security.enrollment, first), '10.0.0.1', 'h'))).toBe('ENROLL_TOKEN_USED_UP');
    // ...and with a new one it joins as a new agent: the revocation is not cleared by anyone with a token.
    const fresh = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 2 }, BY);
    const replaced = await security.enrollment.enroll(pc.proven(security.enrollment, { ...first, token: fresh.token }), '10.0.0.1', 'h');
    expect(replaced).toMatchObject({ agentId: 'pc-01-3', reenrolled: false, replacesRevokedAgent: 'pc-01' });
    expect((await security.registry.get(agentKey('sch-1', 'pc-01')))?.revokedAt).not.toBeNull();

    // The admin's explicit act brings a revoked agent back as itself, to the PC that proves it is that PC.
    const pcB = testPcKey();
    const atB = request(fresh.token, { requestedAgentId: 'pc-b' });
    await security.enrollment.enroll(pcB.proven(security.enrollment, atB), '10.0.0.3', 'h');
    await security.registry.revoke(agentKey('sch-1', 'pc-b'), BY, 'a mistake');
    const readmitted = await security.registry.readmit(agentKey('sch-1', 'pc-b'), BY);
    expect(readmitted.readmittedAt).not.toBeNull();
    const another = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 2 }, BY);
    expect(await refusal(security.enrollment.enroll(testPcKey().proven(security.enrollment, { ...atB, token: another.token }), '203.0.113.9', 'h'))).toBe('ENROLL_NOT_SAME_PC');
    const back = await security.enrollment.enroll(pcB.proven(security.enrollment, { ...atB, token: another.token }), '10.0.0.3', 'h');
    expect(back).toMatchObject({ agentId: 'pc-b', reenrolled: true });
    expect(await security.registry.get(agentKey('sch-1', 'pc-b'))).toMatchObject({ revokedAt: null, readmittedAt: null });
    await expect(security.registry.readmit(agentKey('sch-1', 'pc-b'), BY)).rejects.toThrow('is not revoked');
    expect((await security.audit.list({ action: 'agent.readmit' })).map((entry) => `${entry.actor} ${entry.target ?? ''}`)).toEqual(['user:admin-zhang agent:sch-1:pc-b']);
  });
});
