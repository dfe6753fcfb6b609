import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PtyPair {
  /** Path of one end (a symlink to /dev/pts/N); bytes written here come out of `b`. */
  a: string;
  b: string;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;
const POLL_MS = 20;
/** socat prints this once both ptys exist and it is copying bytes between them. */
const READY_LINE = 'starting data transfer loop';

/**
 * Two connected pseudo-terminals made by socat: a null-modem cable in software. Either end can
 * be opened, closed and reopened; socat keeps running until close().
 */
export async function openPtyPair(): Promise<PtyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'avcare-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  socat.stderr.setEncoding('utf8');
  socat.stderr.on('data', (text: string) => {
    log = (log + text).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => socat.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  socat.once('error', (error) => {
    spawnError = error;
  });

  const close = async (): Promise<void> => {
    if (socat.exitCode === null && socat.signalCode === null && spawnError === undefined) {
      socat.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(log.includes(READY_LINE) && (await exists(a)) && (await exists(b)))) {
    if (spawnError !== undefined || socat.exitCode !== null || Date.now() > deadline) {
      await close();
      const why = spawnError?.message ?? (socat.exitCode !== null ? `socat exited with ${socat.exitCode}` : `not ready after ${READY_TIMEOUT_MS} ms`);
      throw new Error(`cannot make a pty pair: ${why}\n${log}`);
    }
    await sleep(POLL_MS);
  }
  return { a, b, close };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
