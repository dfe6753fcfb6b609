import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/errors.js';
import { silentLogger } from '../../protocol/log.js';
import type { AgentSessionMessage, CommandPayload, SessionRequestPayload, SignedSessionPayload } from '../../protocol/remote-session.js';
import { SessionService, type ActionRunner } from './session-service.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY = { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'a1b2c3d4e5f60718' };
const NOW = new Date('2026-12-04T09:00:00Z');
const at = (minutes: number): string => new Date(NOW.getTime() + minutes * 60_000).toISOString();
const engineer = { accountId: 'A-1', name: 'engineer-wang', teamId: 'east' };

function wire(payload: SignedSessionPayload): Buffer {
  const text = JSON.stringify(payload);
  return Buffer.from(JSON.stringify({ type: 'signed', signed: { payload: text, signature: sign(null, Buffer.from(text), privateKey).toString('base64'), keyId: KEY.keyId } }));
}

function request(scopes: SessionRequestPayload['scopes']): SessionRequestPayload {
  return { kind: 'session-request', sessionId: randomUUID(), schoolId: 'sch-1', agentId: 'pc-01', engineer, reason: 'camera freezes', scopes, requestedAt: at(0), answerBy: at(10), durationMinutes: 60, approvers: 'school-admin-or-pc', nonce: randomBytes(16).toString('base64url') };
}

function command(sessionId: string, action: CommandPayload['action'], scopes: CommandPayload['consent']['scopes'], args: Record<string, unknown> = {}): CommandPayload {
  return { kind: 'command', commandId: randomUUID(), sessionId, schoolId: 'sch-1', agentId: 'pc-01', engineer, action, args, nonce: randomBytes(16).toString('base64url'), issuedAt: at(1), expiresAt: at(5), consent: { approvedBy: 'pc:teacher', approvedAt: at(1), scopes, sessionExpiresAt: at(60) } };
}

function service(stateDir = mkdtempSync(join(tmpdir(), 'avcare-session-')), runAction: ActionRunner = (action) => Promise.resolve({ ran: action })) {
  const sent: AgentSessionMessage[] = [];
  const ran: string[] = [];
  const instance = new SessionService({
    identity: { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' },
    signingKey: KEY,
    stateDir,
    publish: (topic, payload) => {
      expect(topic).toBe('avcare/v1/sch-1/r101/pc-01/session');
      sent.push(JSON.parse(payload) as AgentSessionMessage);
      return Promise.resolve();
    },
    runAction: (action, args, signal) => {
      ran.push(action);
      return runAction(action, args, signal);
    },
    log: silentLogger,
    now: () => NOW,
  });
  return { instance, sent, ran, stateDir };
}

describe('SessionService', () => {
  it('runs a command once the teacher approved at the PC, and answers with its id; the PC log shows each step', async () => {
    const { instance, sent, ran } = service();
    const asked = request(['reprobe', 'network-test']);
    await instance.receive(wire(asked));
    await instance.approve(asked.sessionId, 'pc:teacher');
    const reprobe = command(asked.sessionId, 'reprobe', ['reprobe', 'network-test']);
    await instance.receive(wire(reprobe));
    expect(ran).toEqual(['reprobe']);
    expect(sent.map((message) => message.type)).toEqual(['consent-answer', 'command-result']);
    expect(sent[1]).toMatchObject({ type: 'command-result', commandId: reprobe.commandId, status: 'ok', result: { ran: 'reprobe' } });
    expect(instance.journal.read().map((entry) => entry.event)).toEqual(['request', 'approved', 'command']);
  });

  it('refuses without running: after revocation at the PC, outside the scope, a privacy action not granted, bad arguments', async () => {
    const { instance, sent, ran } = service();
    const scopes: CommandPayload['consent']['scopes'] = ['reprobe', 'usb-reset'];
    const asked = request(scopes);
    await instance.receive(wire(asked));
    await instance.approve(asked.sessionId, 'pc:teacher');
    await instance.receive(wire(command(asked.sessionId, 'restart-agent', scopes)));
    await instance.receive(wire(command(asked.sessionId, 'camera-snapshot', scopes)));
    await instance.receive(wire(command(asked.sessionId, 'usb-reset', scopes, { port: '/etc/passwd' })));
    await instance.revoke(asked.sessionId, 'pc:teacher', 'lesson starts');
    await instance.receive(wire(command(asked.sessionId, 'reprobe', scopes)));
    expect(ran).toEqual([]);
    const codes = sent.filter((message) => message.type === 'command-result').map((message) => (message.type === 'command-result' ? message.error?.code : undefined));
    expect(codes).toEqual(['OUT_OF_SCOPE', 'PRIVACY_SCOPE_MISSING', 'BAD_ARGUMENTS', 'SESSION_REVOKED']);
    expect(sent.some((message) => message.type === 'session-revoked')).toBe(true);
  });

  it('answers a replayed command as refused, also after the agent restarted', async () => {
    const first = service();
    const scopes: CommandPayload['consent']['scopes'] = ['reprobe'];
    const asked = request(scopes);
    await first.instance.receive(wire(asked));
    await first.instance.approve(asked.sessionId, 'pc:teacher');
    const reprobe = wire(command(asked.sessionId, 'reprobe', scopes));
    await first.instance.receive(reprobe);
    const restarted = service(first.stateDir);
    await restarted.instance.receive(reprobe);
    expect(restarted.ran).toEqual([]);
    expect(restarted.sent[0]).toMatchObject({ type: 'command-result', status: 'refused', error: { code: 'REPLAYED' } });
  });

  it('reports an action\'s own failure and a result too large to send, as failed with their codes', async () => {
    const { instance, sent } = service(undefined, (action) => (action === 'inventory' ? Promise.resolve({ blob: 'x'.repeat(70_000) }) : Promise.reject(new AvcareError('PROBE_TIMEOUT', 'the camera did not answer'))));
    const scopes: CommandPayload['consent']['scopes'] = ['inventory', 'reprobe'];
    const asked = request(scopes);
    await instance.receive(wire(asked));
    await instance.approve(asked.sessionId, 'pc:teacher');
    await instance.receive(wire(command(asked.sessionId, 'inventory', scopes)));
    await instance.receive(wire(command(asked.sessionId, 'reprobe', scopes)));
    const results = sent.filter((message) => message.type === 'command-result');
    expect(results.map((message) => (message.type === 'command-result' ? [message.status, message.error?.code] : []))).toEqual([
      ['failed', 'RESULT_TOO_LARGE'],
      ['failed', 'PROBE_TIMEOUT'],
    ]);
  });

  it('ignores garbage and unsigned messages without acting, and logs the refusal', async () => {
    const { instance, sent, ran } = service();
    await instance.receive(Buffer.from('not json'));
    await instance.receive(Buffer.from(JSON.stringify({ type: 'signed', signed: { payload: JSON.stringify(command(randomUUID(), 'reprobe', ['reprobe'])), signature: 'AAAA', keyId: KEY.keyId } })));
    expect(ran).toEqual([]);
    expect(instance.journal.read().map((entry) => entry.detail?.split(':')[0])).toEqual(['MALFORMED', 'BAD_SIGNATURE']);
    // Reported for the cloud's audit; the forged command's claimed id only as a claim.
    expect(sent.map((message) => message.type)).toEqual(['message-refused', 'message-refused']);
    expect(sent[1]).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(sent[1]?.type === 'message-refused' && sent[1].claimedCommandId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
