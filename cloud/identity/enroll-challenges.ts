import { randomBytes } from 'node:crypto';
import { verifySignature, type CloudSigningKey } from './signing-key.js';

/** How long a challenge may be answered: an enrollment takes one round trip. */
const CHALLENGE_TTL_MS = 2 * 60_000;

/**
 * Challenges an enrolling PC signs to prove it holds its installation's key. They are stateless
 * (signed by the cloud's key, with their expiry inside), so any cloud process sharing the key
 * accepts one another issued; this process also refuses one it already accepted (best effort:
 * the proof is bound to the token and installation, and travels only over TLS).
 */
export class EnrollChallenges {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly key: Pick<CloudSigningKey, 'sign' | 'publicKeyPem'>,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): { challenge: string; expiresAt: string } {
    const expiresAt = this.now() + CHALLENGE_TTL_MS;
    const body = `${expiresAt}.${randomBytes(18).toString('base64url')}`;
    return { challenge: `${body}.${this.key.sign(statement(body))}`, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Why the challenge cannot be used, or undefined when it is fresh, ours and unused (it is then spent). */
  spend(challenge: string): string | undefined {
    const now = this.now();
    const parts = challenge.split('.');
    if (parts.length !== 3) return 'the challenge is malformed';
    const [expires = '', nonce = '', signature = ''] = parts;
    const body = `${expires}.${nonce}`;
    if (!verifySignature(this.key.publicKeyPem, statement(body), signature)) return 'the challenge was not issued by this cloud';
    if (!(Number(expires) > now)) return 'the challenge expired; enroll again';
    for (const [seen, until] of this.used) if (until <= now) this.used.delete(seen);
    if (this.used.has(nonce)) return 'the challenge was already used';
    this.used.set(nonce, Number(expires));
    return undefined;
  }
}

function statement(body: string): string {
  return `avcare-enroll-challenge:v1:${body}`;
}
