/**
 * What the cloud sends an agent about a session: every message signed with the cloud's key over
 * its exact JSON text, with a fresh nonce, so the agent acts on nothing it cannot verify and
 * nothing twice.
 */
import { randomBytes } from 'node:crypto';
import type { CloudSessionMessage, SignedSessionPayload } from '../../protocol/remote-session.js';
import type { CloudSigningKey } from '../identity/signing-key.js';

export type SessionSigner = Pick<CloudSigningKey, 'sign' | 'keyId'>;

/** 24 url-safe characters: 144 random bits. */
export function newNonce(): string {
  return randomBytes(18).toString('base64url');
}

type Unsigned<P> = P extends SignedSessionPayload ? Omit<P, 'nonce'> : never;

/** The MQTT payload for the agent's session inbox. */
export function signedSessionMessage(signer: SessionSigner, payload: Unsigned<SignedSessionPayload>): Buffer {
  const text = JSON.stringify({ ...payload, nonce: newNonce() });
  const message: CloudSessionMessage = { type: 'signed', signed: { payload: text, signature: signer.sign(text), keyId: signer.keyId } };
  return Buffer.from(JSON.stringify(message));
}
