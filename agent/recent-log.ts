import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPORT_LIMITS, untrustedText } from '../protocol/index.js';
import { scrubSecrets } from './scrub-secrets.js';

export interface RecentLogOptions {
  /** Also append every line here (normally recentLogFile(stateDir)), so another process can read them. */
  file?: string;
  /** The configured passwords, removed verbatim before a line is kept anywhere. */
  knownSecrets?: readonly string[];
  /** Lines kept in memory. */
  capacity?: number;
  /** The file is renamed to `<file>.1` (replacing the older one) when it would grow past this. */
  rotateBytes?: number;
  /** Called once, later, if the file cannot be written; the log then lives in memory only. */
  onPersistError?: (error: Error) => void;
}

export const RECENT_LOG_CAPACITY = 200;
export const RECENT_LOG_ROTATE_BYTES = 256 * 1024;

export function recentLogFile(stateDir: string): string {
  return join(stateDir, 'recent.log');
}

/** pino's numeric levels: info and above are kept (debug would push the useful lines out). */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const MIN_LEVEL = 30;
const META_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'module']);

/**
 * The agent's own recent log lines, for the diagnostic bundle of a teacher's report: a ring in
 * memory, and the same lines appended to a small file in the state directory, because
 * `avcare-agent report` runs as a process of its own and needs what the daemon logged. Lines are
 * scrubbed of secrets before they are kept anywhere. The file is rotated, not trimmed, so
 * appending stays one O_APPEND write that processes sharing it cannot interleave; at most
 * 2 x rotateBytes are on disk.
 */
export class RecentLog {
  private readonly ring: string[] = [];
  private readonly capacity: number;
  private readonly rotateBytes: number;
  private readonly knownSecrets: readonly string[];
  /** Where lines are appended; undefined once that failed (the file may still be readable). */
  private writeTo: string | undefined;
  private dirReady = false;

  constructor(private readonly options: RecentLogOptions = {}) {
    this.capacity = options.capacity ?? RECENT_LOG_CAPACITY;
    this.rotateBytes = options.rotateBytes ?? RECENT_LOG_ROTATE_BYTES;
    this.knownSecrets = options.knownSecrets ?? [];
    this.writeTo = options.file;
  }

  /** A pino destination: every JSON record at info or above becomes one line. */
  stream(): { write(chunk: string): void } {
    return {
      write: (chunk: string) => {
        const line = formatLogRecord(chunk);
        if (line !== undefined) this.add(line);
      },
    };
  }

  add(text: string): void {
    const line = untrustedText(scrubSecrets(text, this.knownSecrets), REPORT_LIMITS.logLineChars);
    if (line === undefined) return;
    this.ring.push(line);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    this.persist(line);
  }

  /**
   * The last `limit` lines, oldest first: those of every process sharing the file, or this
   * process's own when the file cannot be read. Scrubbed again, since another process (or an
   * older agent) wrote them.
   */
  excerpt(limit: number = REPORT_LIMITS.logLines): string[] {
    let lines: readonly string[] = this.ring;
    if (this.options.file !== undefined) {
      try {
        lines = readRecentLog(this.options.file, limit);
      } catch {
        // Unreadable for this user (the service's file, a teacher's report): this process's lines are all there is.
        lines = this.ring;
      }
    }
    return lines.slice(-limit).map((line) => scrubSecrets(line, this.knownSecrets));
  }

  private persist(line: string): void {
    const file = this.writeTo;
    if (file === undefined) return;
    try {
      if (!this.dirReady) mkdirSync(dirname(file), { recursive: true });
      this.dirReady = true;
      const bytes = Buffer.byteLength(line) + 1;
      if (sizeOf(file) + bytes > this.rotateBytes) renameSync(file, `${file}.1`);
      appendFileSync(file, `${line}\n`, { mode: 0o640 });
    } catch (error) {
      // Keep logging to memory; a full disk must not stop the agent nor repeat this every line.
      this.writeTo = undefined;
      const report = this.options.onPersistError;
      // Deferred: the callback logs, and this runs inside the logger's own write.
      if (report) setImmediate(() => report(error as Error));
    }
  }
}

/** The last `limit` lines of a recent-log file and its rotated predecessor; [] when there is none. */
export function readRecentLog(file: string, limit: number = REPORT_LIMITS.logLines): string[] {
  const current = linesOf(file);
  if (current.length >= limit) return current.slice(-limit);
  return [...linesOf(`${file}.1`), ...current].slice(-limit);
}

/**
 * One pino JSON record as a line a person reads: `time LEVEL module: message key=value ...`;
 * undefined for debug records and anything that is not a record.
 */
export function formatLogRecord(json: string): string | undefined {
  let record: unknown;
  try {
    record = JSON.parse(json);
  } catch {
    // Not a pino record (nothing else writes here): nothing to keep.
    return undefined;
  }
  if (record === null || typeof record !== 'object') return undefined;
  const fields = record as Record<string, unknown>;
  const level = typeof fields.level === 'number' ? fields.level : 0;
  if (level < MIN_LEVEL) return undefined;
  const time = typeof fields.time === 'number' ? new Date(fields.time).toISOString() : '-';
  const module = typeof fields.module === 'string' ? fields.module : 'agent';
  const extras = Object.entries(fields)
    .filter(([key]) => !META_KEYS.has(key))
    .map(([key, value]) => `${key}=${renderValue(value)}`);
  return [time, LEVEL_NAMES[Math.min(60, Math.floor(level / 10) * 10)] ?? String(level), `${module}:`, typeof fields.msg === 'string' ? fields.msg : '', ...extras].join(' ');
}

/** Errors as their message (a stack would use the whole line); anything else as compact JSON. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value && typeof value.message === 'string') {
    const type = 'type' in value && typeof value.type === 'string' ? `${value.type}: ` : '';
    return JSON.stringify(`${type}${value.message}`);
  }
  return JSON.stringify(value) ?? String(value);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

function linesOf(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
