import { generateKeyPairSync, sign } from 'node:crypto';
import { enrollProofStatement, type EnrollRequest } from '../../protocol/index.js';
import type { Enrollment } from '../../cloud/identity/enrollment.js';

/** A classroom PC's own key, as `avcare-agent enroll` makes it, for tests that call the enrollment directly. */
export interface TestPcKey {
  publicKey: string;
  /** The request with this key and a signature over a fresh challenge from `enrollment`. */
  proven(enrollment: Pick<Enrollment, 'challenge'>, request: EnrollRequest): EnrollRequest;
}

export function testPcKey(): TestPcKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    publicKey: publicKeyPem,
    proven(enrollment, request) {
      const { challenge } = enrollment.challenge();
      const signature = sign(null, Buffer.from(enrollProofStatement(challenge, request.installationId, request.token), 'utf8'), privateKey).toString('base64');
      return { ...request, publicKey: publicKeyPem, proof: { challenge, signature } };
    },
  };
}
