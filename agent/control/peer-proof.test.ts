import { existsSync, mkdtempSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { askDaemonAboutConsent } from './control-client.js';
import { startControlServer } from './control-server.js';
import { createPeerProof, peerFromProof, type FileOwner } from './peer-proof.js';
import { recordingSessions } from '../../test/helpers/recording-sessions.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const stateDir = (): string => mkdtempSync(join(tmpdir(), 'avcare-proof-'));
/** Windows' answer for the file's owner, as Get-Acl gives it. */
const ownedBy = (owner: string | undefined): FileOwner & { asked: string[] } => {
  const asked: string[] = [];
  const fileOwner = (path: string): Promise<string | undefined> => {
    asked.push(path);
    return Promise.resolve(owner);
  };
  return Object.assign(fileOwner, { asked });
};

describe('who sent a consent over the Windows named pipe: the owner of the proof file', () => {
  it('names the account that created the file, once: the proof is used up', async () => {
    const dir = stateDir();
    const proof = await createPeerProof(dir);
    expect(proof.nonce).toMatch(/^[0-9a-f]{32}$/);
    const owner = ownedBy('CLASSROOM-203\\teacher-li');
    expect(await peerFromProof(dir, proof.nonce, owner)).toEqual({ name: 'CLASSROOM-203\\teacher-li' });
    expect(owner.asked).toEqual([join(dir, 'peers', proof.nonce)]);
    expect(readdirSync(join(dir, 'peers'))).toEqual([]);
    expect(await peerFromProof(dir, proof.nonce, owner)).toBeUndefined();
  });

  it('names nobody for a stale proof, a nonce that is not one (a path), a missing file, or a file Administrators own', async () => {
    const dir = stateDir();
    const stale = await createPeerProof(dir);
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(dir, 'peers', stale.nonce), past, past);
    expect(await peerFromProof(dir, stale.nonce, ownedBy('PC\\teacher'))).toBeUndefined();
    expect(existsSync(join(dir, 'peers', stale.nonce))).toBe(false);
    expect(await peerFromProof(dir, '../../windows/system32/config', ownedBy('PC\\teacher'))).toBeUndefined();
    expect(await peerFromProof(dir, 'a'.repeat(32), ownedBy('PC\\teacher'))).toBeUndefined();
    expect(await peerFromProof(dir, undefined, ownedBy('PC\\teacher'))).toBeUndefined();
    const group = await createPeerProof(dir);
    expect(await peerFromProof(dir, group.nonce, ownedBy('BUILTIN\\Administrators'))).toBeUndefined();
    const unknown = await createPeerProof(dir);
    expect(await peerFromProof(dir, unknown.nonce, ownedBy(undefined))).toBeUndefined();
  });

  it('end to end through the control channel: the approval is recorded in the proven account\'s name, the claimed one only as a note; without a proof nobody can approve', async () => {
    const dir = stateDir();
    const { sessions, answered } = recordingSessions();
    const control = await startControlServer({ stateDir: dir, log: silentLogger, measure: () => Promise.reject(new Error('no tests here')), sessions: () => Promise.resolve(sessions), peerIdentity: 'proof', fileOwner: ownedBy('CLASSROOM-203\\teacher-li') });
    closers.push(() => control.close());
    const sessionId = '6f0c8a52-7d1e-4a8e-9b51-3f0a4f1d2c11';
    expect(await askDaemonAboutConsent(dir, { operation: 'approve', sessionId, by: 'principal' }, 5_000, true)).toMatchObject({ type: 'consent' });
    expect(answered).toEqual(['approve pc:CLASSROOM-203\\teacher-li (says "principal")']);
    expect(readdirSync(join(dir, 'peers'))).toEqual([]);
    await expect(askDaemonAboutConsent(dir, { operation: 'approve', sessionId, by: 'principal' }, 5_000, false)).rejects.toThrow(/cannot tell which user of this PC is asking/);
  });
});
