/**
 * The running agent's local control socket: `avcare-agent test` asks the daemon to run a test over
 * the daemon's own MQTT connection (the broker accepts one connection per agent) and reads its
 * progress and outcome. Newline-delimited JSON, each line parsed against these schemas.
 */
import { z } from 'zod';
import { currentPlatform } from '../platform/platform.js';
import { measureTestSchema } from '../../protocol/measure-signal.js';
import { testResultSchema, usageSchema } from '../../protocol/measure-result.js';
import { progressSchema } from '../measure/test-ipc.js';

/** A Unix socket in the state directory, or a named pipe on Windows. */
export function controlSocketPath(stateDir: string): string {
  return currentPlatform().controlEndpoint(stateDir);
}

export const consentOperationSchema = z.enum(['list', 'approve', 'deny', 'revoke', 'log']);
export type ConsentOperation = z.infer<typeof consentOperationSchema>;

export const controlRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('test'), test: measureTestSchema }),
  /** The person at the PC answering or ending a remote session; `by` is their login name. */
  z.strictObject({ type: z.literal('consent'), operation: consentOperationSchema, sessionId: z.uuid().optional(), by: z.string().min(1).max(64), reason: z.string().max(500).optional(), withPrivacy: z.boolean().optional(), peerProof: z.string().regex(/^[0-9a-f]{32}$/).optional() }),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;

export const testOutcomeSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('done'), result: testResultSchema, usage: usageSchema, wallMs: z.number().nonnegative() }),
  z.strictObject({ status: z.literal('failed'), code: z.string().max(64), message: z.string().max(2000), usage: usageSchema.optional(), wallMs: z.number().nonnegative() }),
  z.strictObject({ status: z.literal('killed'), message: z.string().max(2000), deadlineMs: z.number().nonnegative(), wallMs: z.number().nonnegative() }),
]);

export const controlReplySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('progress'), progress: progressSchema }),
  z.strictObject({ type: z.literal('outcome'), outcome: testOutcomeSchema }),
  z.strictObject({ type: z.literal('refused'), code: z.string().max(64), message: z.string().max(2000) }),
  /** The sessions after the operation (or the PC's session log for `log`). */
  z.strictObject({ type: z.literal('consent'), sessions: z.array(z.record(z.string(), z.unknown())).max(1000), log: z.array(z.record(z.string(), z.unknown())).max(5000).optional() }),
]);
export type ControlReply = z.infer<typeof controlReplySchema>;
