/**
 * Who is at the other end of the control socket, as the kernel says (SO_PEERCRED on Linux,
 * getpeereid on macOS), not
 * as the client claims: a consent answered at the PC is recorded in the name of the operating-
 * system user whose process sent it. Node has no API for it, so getsockopt(2) is called through
 * koffi (a maintained FFI with prebuilt binaries), loaded only when a consent operation comes.
 */
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { PLATFORM_TRAITS } from '../platform/platform-traits.js';

export interface PeerUser {
  /** The login name (Linux: of uid, or `uid NNNN` when the user database has none; Windows: DOMAIN\\user). */
  name: string;
  /** Linux's SO_PEERCRED; Windows names the account only. */
  uid?: number;
  pid?: number;
}

/** Linux <sys/socket.h>: SOL_SOCKET and SO_PEERCRED; struct ucred is { pid_t, uid_t, gid_t }. */
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type GetPeerCred = (fd: number) => { pid?: number; uid: number } | undefined;
let getPeerCred: Promise<GetPeerCred | undefined> | undefined;

async function loadGetPeerCred(): Promise<GetPeerCred | undefined> {
  if (PLATFORM_TRAITS.peerCredentials === 'proof-file') return undefined;
  const { default: koffi } = await import('koffi');
  if (PLATFORM_TRAITS.peerCredentials === 'getpeereid') {
    // macOS (and the BSDs): getpeereid(2) gives the uid, not the process.
    const libSystem = koffi.load('libSystem.B.dylib');
    const getpeereid = libSystem.func('int getpeereid(int, _Out_ uint32 *, _Out_ uint32 *)');
    return (fd) => {
      const uid = [0];
      const gid = [0];
      return getpeereid(fd, uid, gid) === 0 ? { uid: uid[0] ?? 0 } : undefined;
    };
  }
  const libc = koffi.load('libc.so.6');
  const ucred = koffi.struct('avcare_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
  const getsockopt = libc.func('int getsockopt(int, int, int, _Out_ avcare_ucred *, _Inout_ uint32 *)');
  return (fd) => {
    const out: { pid: number; uid: number; gid: number } = { pid: 0, uid: 0, gid: 0 };
    const length = [koffi.sizeof(ucred)];
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, length) === 0 ? { pid: out.pid, uid: out.uid } : undefined;
  };
}

/** The peer of an accepted Unix socket connection, or undefined where the kernel cannot tell (not Linux, no FFI). */
export async function peerUser(socket: Socket): Promise<PeerUser | undefined> {
  // A connected Unix socket's handle (libuv's pipe) carries its descriptor; Node documents no other way to it.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  let lookup: GetPeerCred | undefined;
  try {
    lookup = await (getPeerCred ??= loadGetPeerCred());
  } catch {
    // koffi missing for this platform: the peer stays unknown, and what needs it is refused.
    return undefined;
  }
  const credentials = lookup?.(fd);
  if (!credentials) return undefined;
  return { uid: credentials.uid, ...(credentials.pid === undefined ? {} : { pid: credentials.pid }), name: await userName(credentials.uid) };
}

/** The login name of a uid through NSS (getent: local, LDAP or AD users alike), or Directory Services on macOS. */
async function userName(uid: number): Promise<string> {
  try {
    // macOS has no getent: id(1) asks Directory Services there.
    const mac = PLATFORM_TRAITS.peerCredentials === 'getpeereid';
    const { stdout } = await promisify(execFile)(mac ? 'id' : 'getent', mac ? ['-un', String(uid)] : ['passwd', String(uid)], { timeout: 2_000 });
    const name = stdout.split(':')[0]?.trim();
    return name && /^[A-Za-z0-9._@-]{1,64}$/.test(name) ? name : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}
