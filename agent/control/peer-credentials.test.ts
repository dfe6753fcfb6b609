import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startControlServer } from './control-server.js';
import { peerUser, type PeerUser } from './peer-credentials.js';
import { personAtPc } from '../session/consent-operation.js';
import { silentLogger } from '../../protocol/log.js';
import { recordingSessions } from '../../test/helpers/recording-sessions.js';

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A socket folder anyone may enter (as a classroom PC's socket is reachable by group avcare). */
function socketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-peer-'));
  chmodSync(dir, 0o755);
  return dir;
}

/** Runs a small client as another OS user: what it claims to be is its business, who it is the kernel's. */
function connectAs(uid: number, path: string, line: string): Promise<string> {
  const script = `const s=require('node:net').createConnection(${JSON.stringify(path)});let o='';s.on('data',d=>o+=d);s.on('close',()=>process.stdout.write(o));s.on('error',e=>{process.stderr.write(String(e));process.exit(2)});s.write(${JSON.stringify(line)}+'\\n');`;
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`client as uid ${uid} failed (${code}): ${stderr}`))));
  });
}

describe('peer credentials of the control socket', () => {
  it('names the user and process at the other end as the kernel says', async () => {
    const path = join(socketDir(), 'peer.sock');
    const seen = new Promise<PeerUser | undefined>((resolve) => {
      const server: Server = createServer((socket) => void peerUser(socket).then(resolve, () => resolve(undefined)));
      server.listen(path);
      closers.push(() => new Promise<void>((done) => server.close(() => done())));
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const client = createConnection(path);
    closers.push(() => void client.destroy());
    expect(await seen).toEqual({ uid: process.getuid?.(), pid: process.pid, name: userInfo().username });
  });

  it.skipIf(process.getuid?.() !== 0)('records an approval in the name of the OS user who sent it, whatever name the client claims', async () => {
    const stateDir = socketDir();
    const { sessions, answered } = recordingSessions();
    const control = await startControlServer({ stateDir, log: silentLogger, measure: () => Promise.reject(new Error('no tests here')), sessions: () => Promise.resolve(sessions) });
    closers.push(() => control.close());
    chmodSync(join(stateDir, 'agent.sock'), 0o666);
    const sessionId = '6f0c8a52-7d1e-4a8e-9b51-3f0a4f1d2c11';
    const reply = await connectAs(65534, join(stateDir, 'agent.sock'), JSON.stringify({ type: 'consent', operation: 'approve', sessionId, by: 'root' }));
    expect(reply).toContain('"type":"consent"');
    expect(answered).toEqual(['approve pc:nobody (says "root")']);
  });
});

describe('who answered at the PC', () => {
  const peer = { uid: 1001, pid: 4242, name: 'teacher-li' };

  it('is the kernel\'s user, with the claimed name only as a note when it differs', () => {
    expect(personAtPc(peer, 'teacher-li', 'approve')).toBe('pc:teacher-li');
    expect(personAtPc(peer, 'principal', 'approve')).toBe('pc:teacher-li (says "principal")');
    expect(personAtPc(peer, 'x\u202e\u2028evil', 'deny')).toBe('pc:teacher-li (says "x evil")');
  });

  it('refuses an approval nobody can be named for, and records a denial or revocation as an unknown user', () => {
    expect(() => personAtPc(undefined, 'root', 'approve')).toThrow('cannot tell which user of this PC is asking');
    expect(personAtPc(undefined, 'root', 'revoke')).toBe('pc:unknown-user (says "root")');
  });
});
