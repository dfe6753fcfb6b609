import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AvcareError, mqttCredentialsSchema, signingKeySchema, topicIdSchema } from '../../protocol/index.js';

/**
 * What enrollment gave this PC: who it is, how it reaches the broker, and the cloud's public key.
 * The file holds a secret, so it is the agent user's only (0600, in the state directory).
 */
export const agentIdentitySchema = z.strictObject({
  version: z.literal(1),
  cloudUrl: z.url(),
  /** The CA file the cloud's certificate was verified with, for mqtts too. */
  caFile: z.string().min(1).optional(),
  /** Enrolled with --insecure-plaintext: the MQTT password may go over plain mqtt:// too. */
  insecurePlaintext: z.literal(true).optional(),
  schoolId: topicIdSchema,
  agentId: topicIdSchema,
  roomId: topicIdSchema,
  installationId: z.uuid(),
  mqtt: mqttCredentialsSchema,
  signingKey: signingKeySchema,
  enrolledAt: z.iso.datetime({ offset: true }),
  credentialIssuedAt: z.iso.datetime({ offset: true }),
});
export type AgentIdentity = z.infer<typeof agentIdentitySchema>;

export function identityFile(stateDir: string): string {
  return join(stateDir, 'identity.json');
}

/** The identity, or undefined when this PC was never enrolled; a damaged file is an error that says so. */
export function readIdentity(stateDir: string): AgentIdentity | undefined {
  const file = identityFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES') {
      throw new AvcareError('CONFIG_UNREADABLE', `${file} is readable only by the agent's own user: run this as that user (sudo -u avcare ...) or with sudo`, { file }, { cause: error });
    }
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AvcareError('CONFIG_INVALID', `${file} is not valid JSON; enroll again (avcare-agent enroll) to rewrite it`, { file }, { cause: error });
  }
  const parsed = agentIdentitySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AvcareError('CONFIG_INVALID', `${file} is damaged (${issue?.path.map(String).join('.') || 'top level'}: ${issue?.message ?? 'invalid'}); enroll again to rewrite it`, { file });
  }
  return parsed.data;
}

/** Writes the identity atomically (a reader never sees half a file), owner-only from its first byte. */
export function writeIdentity(stateDir: string, identity: AgentIdentity): string {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = identityFile(stateDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(agentIdentitySchema.parse(identity), null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return file;
}

/**
 * This installation's id: made once and kept, so enrolling again (a re-run, an answer that was
 * lost) is recognised by the cloud as the same PC rather than a new one.
 */
export function installationId(stateDir: string): string {
  const file = join(stateDir, 'installation-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (z.uuid().safeParse(id).success) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AvcareError('STATE_UNWRITABLE', `cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const id = randomUUID();
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
