/**
 * A remote session at the PC, with the built agent as it runs in a classroom: enrolled with the
 * built cloud, its daemon connected to the cloud's broker. The cloud's session service is not built
 * yet, so this test plays it: it signs requests and commands with the cloud's own key file and
 * publishes them to the agent's inbox (the broker runs open for that). The teacher answers with
 * `avcare-agent consent ...`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSessionInbox, type AgentSessionMessage, type CommandPayload, type SessionRequestPayload, type SignedSessionPayload } from '../../protocol/remote-session.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { ConsentStore } from '../../agent/session/consent-store.js';
import { CLOUD_CLI, enrollmentToken, eventually, operatorPasswordFile, runNodeEntry } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli } from '../helpers/run-cli.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const engineer = { accountId: 'A-7', name: 'engineer-wang', teamId: 'east' };
const minutesFromNow = (minutes: number): string => new Date(Date.now() + minutes * 60_000).toISOString();
const nonce = (): string => randomBytes(16).toString('base64url');

async function classroomPc() {
  const http = await freePort();
  const mqttPort = await freePort();
  const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(http), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile(), '--insecure-open-broker', '--no-reflector', '--no-test-schedule'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
  cleanup.push(() => cloud.kill());
  await cloud.waitForOutput(/Ctrl-C stops/);
  const baseUrl = `http://127.0.0.1:${http}`;
  const stateHome = mkdtempSync(join(tmpdir(), 'avcare-session-pc-'));
  const enrolled = await runCli(['enroll', '--cloud', baseUrl, '--token', await enrollmentToken(baseUrl, 'sch-1'), '--room', 'r101'], { stateHome });
  expect(enrolled.code, enrolled.stderr).toBe(0);
  const [, schoolId = '', agentId = ''] = /agent (\S+):(\S+),/.exec(enrolled.stdout) ?? [];
  const daemon = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, STATE_DIRECTORY: stateHome, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'ignore'] });
  cleanup.push(() => {
    daemon.kill('SIGKILL');
  });
  await eventually(() => Promise.resolve(existsSync(join(stateHome, 'agent.sock')) ? true : undefined), 15_000, 'the control socket');
  const { key } = CloudSigningKey.loadOrCreate(join(cloud.cwd, 'avcare-data', 'signing-key.pem'));
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'test-plays-the-cloud', protocolVersion: 4 });
  cleanup.push(() => client.endAsync());
  const answers: AgentSessionMessage[] = [];
  client.on('message', (_topic, payload) => answers.push(JSON.parse(payload.toString()) as AgentSessionMessage));
  await client.subscribeAsync(`avcare/v1/${schoolId}/+/${agentId}/session`, { qos: 1 });
  const send = async (payload: SignedSessionPayload): Promise<Buffer> => {
    const text = JSON.stringify(payload);
    const wire = Buffer.from(JSON.stringify({ type: 'signed', signed: { payload: text, signature: key.sign(text), keyId: key.keyId } }));
    await client.publishAsync(agentSessionInbox(schoolId, agentId), wire, { qos: 1 });
    return wire;
  };
  const consent = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['consent', ...args], { stateHome, env });
  return { schoolId, agentId, client, answers, send, consent, inbox: agentSessionInbox(schoolId, agentId) };
}

describe('a remote session at the classroom PC', () => {
  it('is shown to the teacher, approved at the PC, runs a re-probe, refuses a replay, and after revocation refuses the next command', async () => {
    const pc = await classroomPc();
    const request: SessionRequestPayload = {
      kind: 'session-request',
      sessionId: randomUUID(),
      schoolId: pc.schoolId,
      agentId: pc.agentId,
      engineer,
      reason: 'the camera in room 101 freezes',
      scopes: ['reprobe', 'fetch-logs'],
      requestedAt: new Date().toISOString(),
      answerBy: minutesFromNow(10),
      durationMinutes: 60,
      approvers: 'school-admin-or-pc',
      nonce: nonce(),
    };
    // Sent again (each time signed anew) until the agent has subscribed to its inbox: a repeat of a known request changes nothing.
    const listed = await eventually(async () => {
      await pc.send({ ...request, nonce: nonce() });
      const result = await pc.consent(['list']);
      return result.stdout.includes(request.sessionId) ? result.stdout : undefined;
    }, 15_000, 'the request at the PC');
    expect(listed).toContain('PENDING');
    expect(listed).toContain('engineer engineer-wang (team east): the camera in room 101 freezes');
    expect((await pc.consent(['list'], { LANG: 'zh_CN.UTF-8' })).stdout).toContain('工程师 engineer-wang（east 组）：the camera in room 101 freezes');

    const approved = await pc.consent(['approve', request.sessionId]);
    expect(approved.code, approved.stderr).toBe(0);
    const answer = await eventually(() => Promise.resolve(pc.answers.find((message) => message.type === 'consent-answer')), 5_000, 'the consent answer');
    expect(answer).toMatchObject({ sessionId: request.sessionId, decision: 'approve' });
    const expiresAt = answer.type === 'consent-answer' ? (answer.expiresAt ?? '') : '';

    const command = (action: CommandPayload['action']): CommandPayload => ({
      kind: 'command',
      commandId: randomUUID(),
      sessionId: request.sessionId,
      schoolId: pc.schoolId,
      agentId: pc.agentId,
      engineer,
      action,
      args: {},
      nonce: nonce(),
      issuedAt: new Date().toISOString(),
      expiresAt: minutesFromNow(5),
      consent: { approvedBy: answer.type === 'consent-answer' ? answer.by : '', approvedAt: new Date().toISOString(), scopes: request.scopes, sessionExpiresAt: expiresAt },
    });
    const resultOf = (commandId: string) => eventually(() => Promise.resolve(pc.answers.find((message) => message.type === 'command-result' && message.commandId === commandId)), 20_000, `the result of ${commandId}`);

    const reprobe = command('reprobe');
    const wire = await pc.send(reprobe);
    const reprobed = await resultOf(reprobe.commandId);
    expect(reprobed).toMatchObject({ status: 'ok' });
    expect(Array.isArray(reprobed.type === 'command-result' ? (reprobed.result as { devices?: unknown }).devices : undefined)).toBe(true);

    const before = pc.answers.length;
    await pc.client.publishAsync(pc.inbox, wire, { qos: 1 });
    await eventually(() => Promise.resolve(pc.answers.length > before ? true : undefined), 5_000, 'the replay refusal');
    expect(pc.answers.at(-1)).toMatchObject({ type: 'command-result', commandId: reprobe.commandId, status: 'refused', error: { code: 'REPLAYED' } });

    expect((await pc.consent(['revoke', request.sessionId, '--reason', 'the lesson starts'])).code).toBe(0);
    const logs = command('fetch-logs');
    await pc.send(logs);
    expect(await resultOf(logs.commandId)).toMatchObject({ status: 'refused', error: { code: 'SESSION_REVOKED' } });

    const log = await pc.consent(['log']);
    expect(log.stdout).toMatch(/request .*engineer-wang/);
    expect(log.stdout).toMatch(/command {2}reprobe {2}by engineer-wang {2}ok/);
    expect(log.stdout).toMatch(/refused {2}fetch-logs .*SESSION_REVOKED/);
  }, 120_000);

  it('without a running agent: lists the PC\'s record, revokes in it (final), and says approve needs the agent', async () => {
    const stateHome = mkdtempSync(join(tmpdir(), 'avcare-session-offline-'));
    const sessionId = randomUUID();
    const store = ConsentStore.open(join(stateHome, 'sessions.json'));
    store.recordRequest({
      kind: 'session-request',
      sessionId,
      schoolId: 'sch-1',
      agentId: 'pc-01',
      engineer,
      reason: 'projector flickers',
      scopes: ['reprobe', 'camera-snapshot'],
      requestedAt: new Date().toISOString(),
      answerBy: minutesFromNow(10),
      durationMinutes: 30,
      approvers: 'school-admin-or-pc',
      nonce: nonce(),
    });
    const listed = await runCli(['consent', 'list'], { stateHome });
    expect(listed.stdout).toContain('PRIVACY: camera-snapshot would see or hear the classroom');
    const approve = await runCli(['consent', 'approve', sessionId], { stateHome });
    expect(approve.code).not.toBe(0);
    expect(approve.stderr).toContain('approve needs the agent');
    expect((await runCli(['consent', 'revoke', sessionId], { stateHome })).code).toBe(0);
    expect(ConsentStore.open(join(stateHome, 'sessions.json')).get(sessionId, new Date())?.effectiveState).toBe('revoked');
    const missing = await runCli(['consent', 'revoke'], { stateHome });
    expect(missing.stderr).toContain('needs the session id');
  }, 60_000);

  it('consent watch shows each new request once as a desktop notification, its text never taken as markup', async () => {
    const stateHome = mkdtempSync(join(tmpdir(), 'avcare-session-watch-'));
    const bin = mkdtempSync(join(tmpdir(), 'avcare-notify-'));
    const calls = join(bin, 'calls.jsonl');
    // A notify-send that records its arguments: the desktop is not on this machine, the command line is what matters.
    writeFileSync(join(bin, 'notify-send'), `#!/usr/bin/env node\nrequire('fs').appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`, { mode: 0o755 });
    const sessionId = randomUUID();
    ConsentStore.open(join(stateHome, 'sessions.json')).recordRequest({
      kind: 'session-request',
      sessionId,
      schoolId: 'sch-1',
      agentId: 'pc-01',
      engineer,
      reason: 'the <b>projector</b> & screen flicker',
      scopes: ['reprobe', 'audio-clip'],
      requestedAt: new Date().toISOString(),
      answerBy: minutesFromNow(10),
      durationMinutes: 30,
      approvers: 'school-admin-or-pc',
      nonce: nonce(),
    });
    const watched = await runCli(['consent', 'watch', '--notify'], { stateHome, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, AVCARE_CONSENT_WATCH_ONCE: '1' } });
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(sessionId);
    expect(watched.stdout).toContain('the <b>projector</b> & screen flicker');
    const [args] = readFileSync(calls, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]);
    expect(args?.slice(0, 4)).toEqual(['--app-name=avcare', '--urgency=critical', '--icon=dialog-warning', 'avcare: a remote engineer asks to diagnose this PC']);
    expect(args?.[4]).toContain('the &lt;b&gt;projector&lt;/b&gt; &amp; screen flicker');
    expect(args?.[4]).toContain('PRIVACY: audio-clip would see or hear the classroom');
    expect(args?.[4]).toContain(`avcare-agent consent approve ${sessionId}`);
  }, 60_000);
});
