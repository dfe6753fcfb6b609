/**
 * What the cloud signs for an agent or a reflector to act on (a measurement grant, a consent
 * request, a remote command): the exact JSON text it signed, its Ed25519 signature and the id of
 * the key, so nobody has to canonicalise JSON and the receiver checks against the key it pinned.
 */
import { createPublicKey, verify } from 'node:crypto';
import { z } from 'zod';

export const signedPayloadSchema = z.strictObject({
  payload: z.string().min(2).max(16 * 1024),
  /** Ed25519 over the payload's UTF-8 bytes, base64. */
  signature: z.string().min(1).max(256),
  keyId: z.string().min(1).max(128),
});
export type SignedPayload = z.infer<typeof signedPayloadSchema>;

export type SignatureCheck = { ok: true } | { ok: false; reason: 'wrong-key' | 'bad-signature' };

/** Checks the signature against the one key the receiver trusts; a payload signed by any other key is refused. */
export function checkSignature(signed: SignedPayload, trusted: { publicKeyPem: string; keyId: string }): SignatureCheck {
  if (signed.keyId !== trusted.keyId) return { ok: false, reason: 'wrong-key' };
  try {
    const valid = verify(null, Buffer.from(signed.payload, 'utf8'), createPublicKey(trusted.publicKeyPem), Buffer.from(signed.signature, 'base64'));
    return valid ? { ok: true } : { ok: false, reason: 'bad-signature' };
  } catch {
    // A malformed signature or key is no signature.
    return { ok: false, reason: 'bad-signature' };
  }
}
