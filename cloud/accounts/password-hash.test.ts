import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, needsRehash, OWASP_SCRYPT, parsePasswordHash, verifyPassword } from './password-hash.js';

describe('password hashing (scrypt)', () => {
  it('hashes with OWASP\'s scrypt cost by default (N=2^17, r=8, p=1), salted, and verifies', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$17\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(parsePasswordHash(stored)?.cost).toEqual(OWASP_SCRYPT);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    // A new salt each time: equal passwords do not give equal hashes.
    expect(await hashPassword('correct horse battery staple')).not.toBe(stored);
  });

  it('treats the same text in another Unicode form as the same password (NFKC)', async () => {
    const stored = await hashPassword('ｐａｓｓｗｏｒｄ一二三', { logN: 10, r: 8, p: 1 });
    expect(await verifyPassword('password一二三', stored)).toBe(true);
  });

  it('never matches a malformed stored hash, and asks for a rehash below the policy\'s cost', async () => {
    for (const stored of ['', 'plain', 'scrypt$17$8$1$c2FsdA==', 'scrypt$40$8$1$c2FsdA==$aGFzaA==', 'bcrypt$2b$10$x']) {
      expect(await verifyPassword('anything', stored)).toBe(false);
    }
    const cheap = await hashPassword('pw', { logN: 10, r: 8, p: 1 });
    expect(needsRehash(cheap, OWASP_SCRYPT)).toBe(true);
    expect(needsRehash(cheap, { logN: 10, r: 8, p: 1 })).toBe(false);
  });

  it('generates one-time passwords of 20 characters without look-alikes', () => {
    const passwords = Array.from({ length: 200 }, generatePassword);
    expect(new Set(passwords).size).toBe(200);
    for (const password of passwords) expect(password).toMatch(/^[a-km-np-zA-HJ-NP-Z2-9]{20}$/);
  });
});
