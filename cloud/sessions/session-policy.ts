import { z } from 'zod';
import { approverPolicySchema } from '../../protocol/remote-session.js';

/**
 * A school's terms for remote sessions, from the service configuration (`defaults.remoteSessions`,
 * or a school's own `remoteSessions`). There is no setting for auto-accept: an unanswered request
 * is a refusal.
 */
export const remoteSessionPolicySchema = z.strictObject({
  maxMinutes: z.number().int().min(5).max(24 * 60).default(60).describe('the longest session an engineer may ask for'),
  defaultMinutes: z.number().int().min(5).max(24 * 60).default(60).describe('a request that names no duration gets this (capped by maxMinutes)'),
  answerMinutes: z.number().int().min(1).max(24 * 60).default(10).describe('no answer within this is a refusal'),
  approvers: approverPolicySchema.default('school-admin-or-pc').describe('school-admin: only the school admins in the cloud; school-admin-or-pc: also the teacher at the classroom PC'),
});
export type RemoteSessionPolicy = z.infer<typeof remoteSessionPolicySchema>;

export const DEFAULT_REMOTE_SESSION_POLICY: RemoteSessionPolicy = remoteSessionPolicySchema.parse({});
