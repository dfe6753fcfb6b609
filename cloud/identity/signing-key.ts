import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AvcareError, type SigningKey } from '../../protocol/index.js';
import type { Dialect } from '../store/dialect.js';

/**
 * The cloud's Ed25519 key: it signs audit anchors now and agents' commands later; agents pin its
 * public half at enrollment. It lives in a file (0600) outside the database, so someone who can
 * write the database cannot forge a signature; the database keeps the public half so that a
 * second cloud process with a different key refuses to start instead of confusing agents.
 */
export class CloudSigningKey {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKeyPem: string,
    readonly keyId: string,
  ) {}

  get description(): SigningKey {
    return { algorithm: 'Ed25519', publicKeyPem: this.publicKeyPem, keyId: this.keyId };
  }

  sign(data: string | Buffer): string {
    return sign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, this.privateKey).toString('base64');
  }

  /** Reads the key file, or creates it (0600) when missing. */
  static loadOrCreate(path: string): { key: CloudSigningKey; created: boolean } {
    let pem: string;
    let created = false;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new AvcareError('CONFIG_UNREADABLE', `cannot read the signing key ${path}: ${(error as Error).message}`, { path }, { cause: error });
      }
      const { privateKey } = generateKeyPairSync('ed25519');
      pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // 'wx': two processes starting at once must not overwrite each other's fresh key.
      try {
        writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
        created = true;
      } catch (writeError) {
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new AvcareError('STATE_UNWRITABLE', `cannot write the signing key ${path}: ${(writeError as Error).message}`, { path }, { cause: writeError });
        }
        pem = readFileSync(path, 'utf8');
      }
    }
    return { key: CloudSigningKey.fromPem(pem, path), created };
  }

  static fromPem(pem: string, source = 'the signing key'): CloudSigningKey {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch (error) {
      throw new AvcareError('CONFIG_INVALID', `${source} is not a PEM private key`, {}, { cause: error });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new AvcareError('CONFIG_INVALID', `${source} is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; avcare signs with Ed25519`);
    const publicKey = createPublicKey(privateKey);
    return new CloudSigningKey(privateKey, publicKey.export({ type: 'spki', format: 'pem' }).toString(), signingKeyId(publicKey));
  }

  /**
   * Binds the key to the database: the first cloud records its public key; a later one with
   * another key is refused, since agents enrolled with the first would reject its signatures.
   */
  async bindTo(db: Dialect, keyPath: string): Promise<void> {
    await db.execute("INSERT INTO cloud_settings (name, value) VALUES ('signing_public_key', $1) ON CONFLICT (name) DO NOTHING", [this.publicKeyPem]);
    const [row] = await db.query<{ value: string }>("SELECT value FROM cloud_settings WHERE name = 'signing_public_key'");
    if (row && row.value !== this.publicKeyPem) {
      const recorded = signingKeyId(createPublicKey(row.value));
      throw new AvcareError(
        'CONFIG_INVALID',
        `the signing key ${keyPath} (key id ${this.keyId}) is not the one this database's agents were given (key id ${recorded}): copy the first cloud's key file here or pass it with --signing-key`,
        { keyPath, keyId: this.keyId, recorded },
      );
    }
  }
}

export function signingKeyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/** Checks a signature made by `CloudSigningKey.sign` against a public key in PEM. */
export function verifySignature(publicKeyPem: string, data: string | Buffer, signature: string): boolean {
  try {
    return verify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    // A malformed key or signature is simply not a valid signature.
    return false;
  }
}

