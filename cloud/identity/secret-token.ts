import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What each kind of secret is for; the prefix makes a leaked one recognisable (secret scanners,
 * log scrubbing) and tells at a glance what it unlocks.
 */
export const SECRET_PREFIXES = {
  apiToken: 'avc_at_',
  enrollToken: 'avc_et_',
  agentSecret: 'avc_ms_',
  brokerSecret: 'avc_bs_',
  reflectorSecret: 'avc_rs_',
} as const;

export type SecretKind = keyof typeof SECRET_PREFIXES;

/** 256 random bits, base64url: too many to guess, so a fast hash is enough to store it. */
export function newSecret(kind: SecretKind): string {
  return `${SECRET_PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
}

/**
 * SHA-256 of a high-entropy secret. A slow KDF buys nothing against 2^256 guesses and would make
 * every MQTT connect and API request pay for it; people's passwords use scrypt instead.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** Public ids of stored things (tokens, accounts): short, unambiguous, not secret. */
export function publicId(prefix: string): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const bytes = randomBytes(10);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % 32];
  return `${prefix}-${id}`;
}
