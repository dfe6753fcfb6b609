import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  /** At most one line per key in this interval. */
  intervalMs?: number;
  /** Milliseconds clock, injectable so tests need no timers. */
  now?: () => number;
}

type Level = 'info' | 'warn' | 'error';

interface KeyState {
  lastLoggedAt: number;
  suppressed: number;
}

/**
 * A logger that writes at most one line per key per interval, so a flood of hostile messages or a
 * database outage cannot fill the disk. Lines dropped meanwhile are counted and the count is
 * written as `suppressed` on the next line of that key. Keys must come from a small fixed set
 * (reject reasons, failure kinds), never from message content: every key is remembered.
 */
export class RateLimitedLog {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly log: Logger,
    options: RateLimitedLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  info(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('info', key, fields, message);
  }

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('warn', key, fields, message);
  }

  error(key: string, fields: Record<string, unknown>, message: string): void {
    this.write('error', key, fields, message);
  }

  private write(level: Level, key: string, fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const state = this.keys.get(key);
    if (state && now - state.lastLoggedAt < this.intervalMs) {
      state.suppressed += 1;
      return;
    }
    const suppressed = state?.suppressed ?? 0;
    this.keys.set(key, { lastLoggedAt: now, suppressed: 0 });
    this.log[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
