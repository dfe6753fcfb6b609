/**
 * What an attacker on the broker can try against a classroom PC, end to end: the built cloud
 * runs a real session with the built agent; the broker is left open (`--insecure-open-broker`) so
 * that this test, playing the attacker, can read and write the agent's inbox. Each attempt is
 * refused by the agent with a clear reason, and the refusal reaches the cloud's audit log.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSessionInbox, cloudSessionMessageSchema, type CommandPayload } from '../../protocol/remote-session.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { CLOUD_CLI, enrollmentToken, eventually, getJson, operatorPasswordFile, postJson, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli } from '../helpers/run-cli.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface AuditEntry {
  actor: string;
  action: string;
  outcome: string;
  target: string | null;
  detail: Record<string, unknown>;
}

describe('attacks on a session at the PC, refused and audited', () => {
  it('forged signature, another key, an expired command, a replay after the agent restarted, a command after revocation at the PC', async () => {
    const http = await freePort();
    const mqttPort = await freePort();
    const service = join(mkdtempSync(join(tmpdir(), 'avcare-service-')), 'service.json');
    writeFileSync(service, JSON.stringify({ regions: [{ id: 'hz', city: 'Hangzhou' }], teams: [{ id: 'team-hz', regions: ['hz'] }], schools: [{ id: 'sch-1', region: 'hz' }] }));
    const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(http), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile(), '--service', service, '--insecure-open-broker', '--no-reflector', '--no-test-schedule'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    cleanup.push(() => cloud.kill());
    await cloud.waitForOutput(/Ctrl-C stops/);
    const baseUrl = `http://127.0.0.1:${http}`;
    const operator = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    await postJson(`${baseUrl}/api/users`, { name: 'wang-engineer', role: 'engineer', team: 'team-hz', password: 'wang-engineer passphrase' }, operator);
    await postJson(`${baseUrl}/api/users`, { name: 'li-admin', role: 'school_admin', school: 'sch-1', password: 'li-admin passphrase' }, operator);
    const engineer = await signIn(baseUrl, 'wang-engineer', 'wang-engineer passphrase');
    const admin = await signIn(baseUrl, 'li-admin', 'li-admin passphrase');

    const stateHome = mkdtempSync(join(tmpdir(), 'avcare-session-attack-'));
    const enrolled = await runCli(['enroll', '--cloud', baseUrl, '--token', await enrollmentToken(baseUrl, 'sch-1'), '--room', 'r101'], { stateHome });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const [, schoolId = '', agentId = ''] = /agent (\S+):(\S+),/.exec(enrolled.stdout) ?? [];
    let daemon: ChildProcess | undefined;
    const startDaemon = async (): Promise<void> => {
      rmSync(join(stateHome, 'agent.sock'), { force: true });
      const started = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, STATE_DIRECTORY: stateHome, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'ignore'] });
      daemon = started;
      await eventually(() => Promise.resolve(existsSync(join(stateHome, 'agent.sock')) ? true : undefined), 15_000, 'the control socket');
    };
    cleanup.push(() => {
      daemon?.kill('SIGKILL');
    });
    await startDaemon();

    // The attacker reads the agent's inbox on the open broker.
    const attacker = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'attacker', protocolVersion: 4 });
    cleanup.push(() => attacker.endAsync(true));
    const inbox = agentSessionInbox(schoolId, agentId);
    const seen: Buffer[] = [];
    attacker.on('message', (_topic, payload) => seen.push(payload));
    await attacker.subscribeAsync(inbox, { qos: 1 });

    const requested = await postJson<{ session: { id: string } }>(`${baseUrl}/api/sessions`, { schoolId, agentId, reason: 'the projector flickers', scopes: ['reprobe', 'inventory'] }, engineer);
    expect(requested.status, JSON.stringify(requested.body)).toBe(200);
    const sessionId = requested.body.session.id;
    await eventually(async () => ((await runCli(['consent', 'list'], { stateHome })).stdout.includes(sessionId) ? true : undefined), 45_000, 'the request at the PC');
    expect((await runCli(['consent', 'approve', sessionId], { stateHome })).code).toBe(0);
    await eventually(async () => ((await getJson<{ session: { state: string } }>(`${baseUrl}/api/sessions/${sessionId}`, admin)).body.session.state === 'active' ? true : undefined), 10_000, 'the session active');

    const run = (action: string) => postJson<{ command: { id: string; status: string } }>(`${baseUrl}/api/sessions/${sessionId}/commands`, { action, waitSeconds: 20 }, engineer);
    const reprobe = await run('reprobe');
    expect(reprobe.body.command.status).toBe('ok');
    const captured = seen.map((payload) => cloudSessionMessageSchema.parse(JSON.parse(payload.toString()))).find((message) => (JSON.parse(message.signed.payload) as { commandId?: string }).commandId === reprobe.body.command.id);
    if (!captured) throw new Error('the attacker did not see the command');
    const real = JSON.parse(captured.signed.payload) as CommandPayload;

    const audit = async (action: string): Promise<AuditEntry[]> => (await getJson<{ entries: AuditEntry[] }>(`${baseUrl}/api/audit?action=${action}&limit=5000`, admin)).body.entries;
    const audited = (action: string, match: (entry: AuditEntry) => boolean, what: string) => eventually(async () => (await audit(action)).find(match), 10_000, what);
    const publish = (message: unknown) => attacker.publishAsync(inbox, JSON.stringify(message), { qos: 1 });
    const fresh = (changes: Partial<CommandPayload>): CommandPayload => ({ ...real, commandId: randomUUID(), nonce: randomBytes(16).toString('base64url'), issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), ...changes });

    // 1. The cloud's signature over other text: the payload says restart-agent, the signature says re-probe.
    const forgedId = randomUUID();
    await publish({ type: 'signed', signed: { ...captured.signed, payload: JSON.stringify(fresh({ commandId: forgedId, action: 'restart-agent' })) } });
    expect(await audited('session.message-refused', (entry) => entry.detail['code'] === 'BAD_SIGNATURE', 'the forged signature')).toMatchObject({ actor: `agent:${schoolId}:${agentId}`, outcome: 'denied' });

    // 2. A well-formed message signed by another key.
    const other = generateKeyPairSync('ed25519');
    const otherText = JSON.stringify(fresh({}));
    await publish({ type: 'signed', signed: { payload: otherText, signature: sign(null, Buffer.from(otherText), other.privateKey).toString('base64'), keyId: 'attacker-key' } });
    expect(await audited('session.message-refused', (entry) => entry.detail['code'] === 'WRONG_KEY', 'the wrong key')).toMatchObject({ outcome: 'denied' });

    // 3. An expired command, signed with the real key (as a stolen, old one would be).
    const { key } = CloudSigningKey.loadOrCreate(join(cloud.cwd, 'avcare-data', 'signing-key.pem'));
    const signedByCloud = (payload: CommandPayload) => {
      const text = JSON.stringify(payload);
      return { type: 'signed', signed: { payload: text, signature: key.sign(text), keyId: key.keyId } };
    };
    const expired = fresh({ issuedAt: new Date(Date.now() - 20 * 60_000).toISOString(), expiresAt: new Date(Date.now() - 10 * 60_000).toISOString() });
    await publish(signedByCloud(expired));
    expect(await audited('session.result', (entry) => entry.detail['commandId'] === expired.commandId, 'the expired command')).toMatchObject({ outcome: 'denied', detail: { status: 'refused', error: { code: 'EXPIRED' } } });

    // 4. The real command again, after the agent restarted: its nonce is still remembered.
    daemon?.kill('SIGTERM');
    await new Promise((resolve) => daemon?.once('exit', resolve));
    await startDaemon();
    await eventually(async () => {
      await attacker.publishAsync(inbox, Buffer.from(JSON.stringify(captured)), { qos: 1 });
      return (await audit('session.result')).find((entry) => entry.detail['commandId'] === real.commandId && entry.detail['recorded'] === false);
    }, 20_000, 'the replay refused after the restart').then((entry) => expect(entry).toMatchObject({ outcome: 'denied', detail: { status: 'refused', error: { code: 'REPLAYED' } } }));

    // 5. Revoked at the PC: the cloud hears it and refuses the engineer; a command that reaches the PC anyway is refused there.
    expect((await runCli(['consent', 'revoke', sessionId, '--reason', 'enough'], { stateHome })).code).toBe(0);
    await eventually(async () => ((await getJson<{ session: { state: string } }>(`${baseUrl}/api/sessions/${sessionId}`, admin)).body.session.state === 'revoked' ? true : undefined), 10_000, 'the revocation in the cloud');
    const refused = await run('inventory');
    expect(refused.status).toBe(409);
    const late = fresh({ action: 'inventory' });
    await publish(signedByCloud(late));
    expect(await audited('session.result', (entry) => entry.detail['commandId'] === late.commandId, 'the command after revocation')).toMatchObject({ outcome: 'denied', detail: { error: { code: 'SESSION_REVOKED' } } });
    expect(await audited('session.revoke', (entry) => entry.target === `session:${sessionId}`, 'the revocation')).toMatchObject({ outcome: 'success', detail: { note: 'revoked at the PC: enough' } });
  }, 180_000);
});
