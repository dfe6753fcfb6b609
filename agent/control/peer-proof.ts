/**
 * Who is at the other end of the Windows named pipe. Node gives the server no handle to ask
 * Windows (GetNamedPipeClientProcessId), so the client proves who it is with a file: it creates an
 * empty file named by a random nonce in the state directory's `peers` folder, sends the nonce, and
 * the agent reads the file's owner, which Windows sets to the account that created it. Only
 * administrators and the service may write there (install.ps1's ACL), as only they may open the
 * pipe; the file is taken once, within a minute, and deleted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PeerUser } from './peer-credentials.js';

const NONCE = /^[0-9a-f]{32}$/;
const PROOF_MAX_AGE_MS = 60_000;

/** The owner of a file as "DOMAIN\\user"; undefined when Windows does not say. */
export type FileOwner = (path: string) => Promise<string | undefined>;

function proofPath(stateDir: string, nonce: string): string {
  return join(stateDir, 'peers', nonce);
}

/** The client's side: the file, and the nonce that names it (the caller removes it when done). */
export async function createPeerProof(stateDir: string): Promise<{ nonce: string; remove(): Promise<void> }> {
  const nonce = randomBytes(16).toString('hex');
  const path = proofPath(stateDir, nonce);
  await mkdir(join(stateDir, 'peers'), { recursive: true });
  // wx: never an existing file, whoever made it.
  await writeFile(path, '', { flag: 'wx' });
  return { nonce, remove: () => rm(path, { force: true }) };
}

/** Windows' own answer, through PowerShell's Get-Acl (the path is the agent's, quoted for PowerShell). */
export const powershellFileOwner: FileOwner = async (path) => {
  const quoted = `'${path.replace(/'/g, "''")}'`;
  const { stdout } = await promisify(execFile)('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', `(Get-Acl -LiteralPath ${quoted}).Owner`], { timeout: 10_000, windowsHide: true });
  const owner = stdout.trim();
  return owner === '' ? undefined : owner.slice(0, 256);
};

/** The agent's side: the person the proof names, or undefined (no proof, a stale or foreign one). The proof is used up either way. */
export async function peerFromProof(stateDir: string, nonce: string | undefined, fileOwner: FileOwner = powershellFileOwner, now = Date.now()): Promise<PeerUser | undefined> {
  if (nonce === undefined || !NONCE.test(nonce)) return undefined;
  const path = proofPath(stateDir, nonce);
  try {
    const stats = await lstat(path);
    if (!stats.isFile() || now - stats.mtimeMs > PROOF_MAX_AGE_MS) return undefined;
    const owner = await fileOwner(path);
    // "BUILTIN\\Administrators" owns what an account without its own ownership made: it names nobody.
    if (!owner || /^BUILTIN\\/i.test(owner)) return undefined;
    return { name: owner };
  } catch {
    return undefined;
  } finally {
    await rm(path, { force: true });
  }
}
