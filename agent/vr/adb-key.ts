import { generateKeyPair, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AdbCredentialStore, AdbPrivateKey } from '@yume-chan/adb';

/** The agent's ADB key: an RSA private key (PKCS #8, DER) that a headset accepts once, when someone taps "Allow". */
export const ADB_KEY_FILE = 'adbkey.pk8';

/**
 * The agent's own ADB key, kept in its state directory (readable by the agent only) so a headset
 * that accepted it once ("always allow from this computer") keeps accepting it across restarts.
 * Created on first use; the library signs with it, nothing here hand-rolls RSA.
 */
export class StateDirAdbKeys implements AdbCredentialStore {
  private readonly file: string;
  private cached: AdbPrivateKey | null = null;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, ADB_KEY_FILE);
  }

  /** Why: headsets show this name in their "Allow USB debugging?" dialog, so the teacher knows which PC asks. */
  private static readonly NAME = `avcare@${hostname()}`;

  /**
   * The stored key, made first if there is none, off the event loop: an RSA key takes a second or
   * more on a classroom PC, and headsets being read in parallel must all offer the same one.
   */
  async ensure(): Promise<AdbPrivateKey> {
    const stored = this.load();
    if (stored) return stored;
    this.making ??= promisify(generateKeyPair)('rsa', { modulusLength: 2048, publicExponent: 65537 }).then(({ privateKey }) => this.store(new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' }))));
    return this.making;
  }

  private making: Promise<AdbPrivateKey> | undefined;

  /** The library asks for a key only when `iterateKeys` had none: `ensure()` first makes that rare. */
  generateKey(): AdbPrivateKey {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    return this.store(new Uint8Array(privateKey.export({ type: 'pkcs8', format: 'der' })));
  }

  private store(buffer: Uint8Array): AdbPrivateKey {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: a crash mid-write must not leave half a key that no headset accepts.
    const partial = `${this.file}.partial`;
    writeFileSync(partial, buffer, { mode: 0o600 });
    chmodSync(partial, 0o600);
    renameSync(partial, this.file);
    this.cached = { buffer, name: StateDirAdbKeys.NAME };
    return this.cached;
  }

  *iterateKeys(): Generator<AdbPrivateKey> {
    const key = this.load();
    if (key) yield key;
  }

  /** The stored key, or null before the first headset asked for one. */
  load(): AdbPrivateKey | null {
    if (this.cached) return this.cached;
    try {
      this.cached = { buffer: new Uint8Array(readFileSync(this.file)), name: StateDirAdbKeys.NAME };
      return this.cached;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }
}
