/** A session request as the cloud signs it, for tests: answer within 10 minutes of `now`, an hour long. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { SessionRequestPayload } from '../../protocol/remote-session.js';

export function sessionRequest(overrides: Partial<SessionRequestPayload> = {}, now = new Date()): SessionRequestPayload {
  return {
    kind: 'session-request',
    sessionId: randomUUID(),
    schoolId: 'sch-1',
    agentId: 'pc-01',
    engineer: { accountId: 'A-1', name: 'engineer-wang', teamId: 'east' },
    reason: 'camera freezes in room 101',
    scopes: ['reprobe', 'network-test', 'visca-power-cycle'],
    requestedAt: now.toISOString(),
    answerBy: new Date(now.getTime() + 10 * 60_000).toISOString(),
    durationMinutes: 60,
    approvers: 'school-admin-or-pc',
    nonce: randomBytes(16).toString('base64url'),
    ...overrides,
  };
}
