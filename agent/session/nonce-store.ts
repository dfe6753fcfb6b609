/**
 * Nonces of the signed messages this agent has acted on, kept on disk so a message replayed after
 * a restart is refused as surely as one replayed a second later. Each nonce is kept until its
 * message expires (after that the expiry check refuses the message anyway), so the file stays as
 * small as the number of messages valid at once.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';

interface Entry {
  nonce: string;
  expiresAtMs: number;
}

export class NonceStore {
  private readonly seen = new Map<string, number>();

  private constructor(private readonly file: string) {}

  /** Reads what was claimed before, forgets what has expired, and rewrites the file compacted. */
  static open(file: string, now: Date = new Date()): NonceStore {
    const store = new NonceStore(file);
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const entry = JSON.parse(line) as Partial<Entry>;
        if (typeof entry.nonce === 'string' && typeof entry.expiresAtMs === 'number' && entry.expiresAtMs > now.getTime()) store.seen.set(entry.nonce, entry.expiresAtMs);
      } catch {
        // A line torn by a crash mid-write: its message was never acted on (the claim comes first).
      }
    }
    const compacted = [...store.seen].map(([nonce, expiresAtMs]) => JSON.stringify({ nonce, expiresAtMs })).join('\n');
    writeFileSync(`${file}.tmp`, compacted === '' ? '' : `${compacted}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    return store;
  }

  /**
   * Claims a nonce before the message is acted on: false when it was claimed before. The claim is
   * on disk (fsync) before this returns, so a crash right after cannot let the message run twice.
   */
  claim(nonce: string, expiresAt: Date): boolean {
    if (this.seen.has(nonce)) return false;
    const fd = openSync(this.file, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ nonce, expiresAtMs: expiresAt.getTime() })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.seen.set(nonce, expiresAt.getTime());
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
