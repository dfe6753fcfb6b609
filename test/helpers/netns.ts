import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A network namespace joined to this one by a veth pair, on a /24 of 10.203.0.0/16 that this
 * test creates and removes: devices "on the room's network" without touching any address we did
 * not create. Needs root and `ip` (CI and this machine have both).
 */
export interface TestLan {
  namespace: string;
  /** This side's interface and address. */
  hostInterface: string;
  hostAddress: string;
  prefix: number;
  /** Addresses given to the namespace's side, one per simulated device. */
  peerAddresses: string[];
  broadcast: string;
  /** Runs a command inside the namespace. */
  exec(command: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function canCreateNamespaces(): Promise<boolean> {
  try {
    await run('ip', ['netns', 'list']);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export async function createTestLan(peers: number): Promise<TestLan> {
  const tag = randomBytes(3).toString('hex');
  const namespace = `avc-lan-${tag}`;
  const hostInterface = `avch${tag}`;
  const peerInterface = `avcp${tag}`;
  const third = 10 + (parseInt(tag.slice(0, 2), 16) % 240);
  const subnet = `10.203.${third}`;
  const hostAddress = `${subnet}.1`;
  const peerAddresses = Array.from({ length: peers }, (_, index) => `${subnet}.${index + 2}`);
  const cleanup = async (): Promise<void> => {
    await run('ip', ['link', 'delete', hostInterface]).catch(() => undefined);
    await run('ip', ['netns', 'delete', namespace]).catch(() => undefined);
  };
  try {
    await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', peerInterface]);
    await run('ip', ['link', 'set', peerInterface, 'netns', namespace]);
    await run('ip', ['addr', 'add', `${hostAddress}/24`, 'broadcast', `${subnet}.255`, 'dev', hostInterface]);
    await run('ip', ['link', 'set', hostInterface, 'up']);
    for (const address of peerAddresses) await run('ip', ['-n', namespace, 'addr', 'add', `${address}/24`, 'broadcast', `${subnet}.255`, 'dev', peerInterface]);
    await run('ip', ['-n', namespace, 'link', 'set', peerInterface, 'up']);
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    namespace,
    hostInterface,
    hostAddress,
    prefix: 24,
    peerAddresses,
    broadcast: `${subnet}.255`,
    exec: (command, args) => run('ip', ['netns', 'exec', namespace, command, ...args]),
    close: cleanup,
  };
}
