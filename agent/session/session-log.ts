/**
 * This PC's own log of what remote sessions did on it (`avcare-agent consent log`): requests,
 * answers, every command with its outcome or refusal, revocations and ends. One JSON line each,
 * kept beside the agent's state; the cloud keeps the hash-chained audit log, this is what the
 * school can read on the PC itself without asking anyone.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface SessionLogEntry {
  at: string;
  sessionId: string | null;
  event: 'request' | 'approved' | 'denied' | 'revoked' | 'ended' | 'command' | 'refused' | 'message-refused';
  /** Who acted: the engineer for a command, the person for an answer. */
  by?: string;
  action?: string;
  commandId?: string;
  outcome?: 'ok' | 'failed' | 'refused';
  detail?: string;
}

/** Reading gives the newest this many entries. */
const MAX_READ_ENTRIES = 5000;

export class SessionLog {
  constructor(private readonly file: string) {}

  append(entry: SessionLogEntry): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  read(): SessionLogEntry[] {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const entries: SessionLogEntry[] = [];
    for (const line of text.split('\n').slice(-MAX_READ_ENTRIES - 1)) {
      if (line.trim() === '') continue;
      try {
        entries.push(JSON.parse(line) as SessionLogEntry);
      } catch {
        // A line torn by a crash: skipped, the rest stays readable.
      }
    }
    return entries;
  }
}
