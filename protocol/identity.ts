import { createHash } from 'node:crypto';
import { z } from 'zod';
import { topicIdSchema } from './ids.js';

import { ROLES, type Role } from './roles.js';

export { ROLES, type Role };
export const roleSchema = z.enum(ROLES);

/** Login names: what a person types, so short, printable, no spaces; compared without case. */
export const accountNameSchema = z
  .string()
  .min(2, 'must be at least 2 characters')
  .max(64, 'must be at most 64 characters')
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}._@-]*$/u, 'may hold letters, digits, ".", "_", "@" and "-" and must start with a letter or digit');

/** NIST SP 800-63B: at least 8 characters, no composition rules, a generous maximum. */
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(256, 'must be at most 256 characters');

/** Service team ids as the service configuration names them. */
export const teamIdSchema = z.string().min(1).max(128);

/**
 * What proves that an enrolling PC is the installation it claims to be: its Ed25519 key, made at
 * its first enrollment, signing a challenge the cloud just issued (POST /api/enroll/challenge)
 * together with its installation id and the token it enrolls with. The private half never
 * leaves the PC, so knowing an installation id (which is in the audit log) proves nothing.
 */
export const enrollProofSchema = z.strictObject({
  challenge: z.string().min(20).max(400).describe('As POST /api/enroll/challenge gave it'),
  signature: z.string().min(20).max(200).describe('Ed25519 over enrollProofStatement(), base64'),
});
export type EnrollProof = z.infer<typeof enrollProofSchema>;

/** The exact bytes an enrolling PC signs: bound to this challenge, this installation and this token. */
export function enrollProofStatement(challenge: string, installationId: string, token: string): string {
  return `avcare-enroll-proof:v1:${challenge}:${installationId}:${createHash('sha256').update(token.trim(), 'utf8').digest('hex')}`;
}

export const enrollChallengeResponseSchema = z.strictObject({ challenge: z.string(), expiresAt: z.string() });

/** The agent's request to join a school: POST /api/enroll with the token it was given. */
export const enrollRequestSchema = z.strictObject({
  token: z.string().min(10).max(200).describe('The enrollment token a school admin created'),
  /** Stable per PC installation: the same installation enrolling again gets the same agent back. */
  installationId: z.uuid(),
  /** The agent id the PC asks for (its host name); the cloud may add a suffix to keep it unique in the school. */
  requestedAgentId: topicIdSchema,
  roomId: topicIdSchema.optional(),
  hostname: z.string().max(253).optional(),
  agentVersion: z.string().max(64).optional(),
  /** The PC's Ed25519 public key (SPKI PEM): kept at its first enrollment, required to come back as itself. */
  publicKey: z.string().max(400).regex(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$/, 'must be a PEM public key').optional(),
  proof: enrollProofSchema.optional(),
  /**
   * The MQTT secret the PC holds now: the proof of an installation enrolled before it had a key
   * (once accepted, its key is kept and required from then on). Sent only to the cloud that issued it.
   */
  currentSecret: z.string().max(256).optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const mqttCredentialsSchema = z.strictObject({
  /** Where the agent connects: mqtts:// when the cloud has a certificate. */
  url: z.string().regex(/^mqtts?:\/\/[^\s]+$/),
  username: z.string().min(1).max(256),
  /** A random 256-bit secret; the cloud keeps only its hash, so this answer is the only copy. */
  password: z.string().min(32).max(256),
  clientId: z.string().min(1).max(256),
});
export type MqttCredentials = z.infer<typeof mqttCredentialsSchema>;

/** The cloud's Ed25519 public key: the agent pins it to check signed commands (remote sessions). */
export const signingKeySchema = z.strictObject({
  algorithm: z.literal('Ed25519'),
  /** SPKI, PEM-encoded. */
  publicKeyPem: z.string().min(40).max(1000),
  /** First 16 hex digits of the SHA-256 of the raw key: what logs and the console show. */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});
export type SigningKey = z.infer<typeof signingKeySchema>;

export const enrollResponseSchema = z.strictObject({
  schoolId: topicIdSchema,
  agentId: topicIdSchema,
  roomId: topicIdSchema,
  /** true when this installation was already enrolled: the same agent, with fresh credentials. */
  reenrolled: z.boolean(),
  /** This installation's agent was revoked (and not readmitted): the PC joined as a new agent instead of it. */
  replacesRevokedAgent: topicIdSchema.optional(),
  mqtt: mqttCredentialsSchema,
  signingKey: signingKeySchema,
  enrolledAt: z.iso.datetime({ offset: true }),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/** What a person signs in with, and the bearer token they get back. */
export const loginRequestSchema = z.strictObject({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  /** How long the token lives, in hours (default 12; the CLI asks for 30 days). */
  ttlHours: z.number().int().min(1).max(24 * 90).optional(),
  label: z.string().max(128).optional(),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const loginResponseSchema = z.strictObject({
  token: z.string(),
  tokenId: z.string(),
  expiresAt: z.iso.datetime({ offset: true }),
  account: z.strictObject({
    id: z.string(),
    name: z.string(),
    role: roleSchema,
    schoolId: z.string().nullable(),
    teamId: z.string().nullable(),
    mustChangePassword: z.boolean(),
  }),
});
export type LoginResponse = z.infer<typeof loginResponseSchema>;

/**
 * The MQTT user name of an agent: its school and agent id, which no other agent has. ":" cannot
 * occur in a topic id, so the name is unambiguous.
 */
export function agentMqttUsername(schoolId: string, agentId: string): string {
  return `${schoolId}:${agentId}`;
}

/** The one client id an agent may connect with, so no agent can take over another's session. */
export function agentMqttClientId(schoolId: string, agentId: string): string {
  return `avcare-agent:${schoolId}:${agentId}`;
}
