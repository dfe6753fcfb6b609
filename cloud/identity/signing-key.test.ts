import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTestStore } from '../../test/collector/cloud-under-test.js';
import { CloudSigningKey, verifySignature } from './signing-key.js';

describe('the cloud signing key', () => {
  it('is created once, owner-only, and signs what its public key verifies', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'avcare-key-')), 'keys', 'signing-key.pem');
    const { key, created } = CloudSigningKey.loadOrCreate(path);
    expect(created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = CloudSigningKey.loadOrCreate(path);
    expect(again.created).toBe(false);
    expect(again.key.keyId).toBe(key.keyId);
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    const signature = key.sign('command 42');
    expect(verifySignature(key.publicKeyPem, 'command 42', signature)).toBe(true);
    expect(verifySignature(key.publicKeyPem, 'command 43', signature)).toBe(false);
    expect(verifySignature('not a key', 'command 42', signature)).toBe(false);
  });

  it('refuses a key that is not Ed25519', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'avcare-key-')), 'rsa.pem');
    writeFileSync(path, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    expect(() => CloudSigningKey.loadOrCreate(path)).toThrow(/is a rsa key; avcare signs with Ed25519/);
  });

  it('binds to the database: a second cloud with another key is refused, naming both key ids', async () => {
    const opened = await openTestStore('sqlite');
    try {
      const first = CloudSigningKey.loadOrCreate(join(mkdtempSync(join(tmpdir(), 'avcare-key-')), 'a.pem')).key;
      const second = CloudSigningKey.loadOrCreate(join(mkdtempSync(join(tmpdir(), 'avcare-key-')), 'b.pem')).key;
      await first.bindTo(opened.store.database, 'a.pem');
      await first.bindTo(opened.store.database, 'a.pem');
      await expect(second.bindTo(opened.store.database, 'b.pem')).rejects.toThrow(`the signing key b.pem (key id ${second.keyId}) is not the one this database's agents were given (key id ${first.keyId})`);
    } finally {
      await opened.dispose();
    }
  });
});
