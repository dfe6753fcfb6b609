import type { Logger } from '../../protocol/log.js';
import type { AuditEvent } from './audit-log.js';

export interface AuditFloodLimits {
  /** The window repeated entries are counted in (a minute). */
  windowMs: number;
  /** Entries of one key written one by one per window; the rest are counted into one summary entry. */
  burst: number;
  /** Entries of all keys together per window (summaries included); past it, one entry says what was left out. */
  maxPerWindow: number;
  /** At most this many sample details are kept in a summary. */
  samples: number;
}

export const DEFAULT_AUDIT_FLOOD_LIMITS: AuditFloodLimits = { windowMs: 60_000, burst: 5, maxPerWindow: 600, samples: 5 };

/** Keys tracked at once; an attacker cycling keys past it loses per-key detail, never the count. */
const MAX_KEYS = 10_000;

interface KeyWindow {
  startedAt: number;
  written: number;
  /** The first event held back: the summary is written in its name. */
  first?: AuditEvent;
  held: number;
  lastAt: number;
  samples: Array<Record<string, unknown>>;
}

/**
 * Audit entries that an outside party can cause (refused sign-ins and enrollments, a broker's
 * refusals, an agent's refused session messages) go through here, so nobody can write thousands
 * of entries a second. Per key (a client, an address, an actor and action) the first few of a
 * minute are written as they come; the rest are counted and written as one entry at the end of
 * the minute (`detail.repeated`, the time span, a few samples). All keys together are capped per
 * minute too: what is over the cap is summed up in one `audit.suppressed` entry. Nothing is lost
 * without a trace: every act is either its own entry or counted in one.
 */
export class AuditFloodGuard {
  private readonly limits: AuditFloodLimits;
  private readonly now: () => number;
  private readonly windows = new Map<string, KeyWindow>();
  private globalStartedAt: number;
  private globalWritten = 0;
  private readonly overflow = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly audit: { append(event: AuditEvent): Promise<unknown> },
    private readonly options: { log: Logger; limits?: Partial<AuditFloodLimits>; now?: () => number; onHeldBack?: (action: string) => void },
  ) {
    this.limits = { ...DEFAULT_AUDIT_FLOOD_LIMITS, ...options.limits };
    this.now = options.now ?? Date.now;
    this.globalStartedAt = this.now();
  }

  /** Writes the summaries of ended windows every window, so a burst followed by silence is summed up too. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(false), this.limits.windowMs);
    this.timer.unref();
  }

  /** Records the event now, or counts it into its key's summary. Resolves when what it wrote is written. */
  append(key: string, event: AuditEvent): Promise<void> {
    const now = this.now();
    this.rollGlobal(now);
    let window = this.windows.get(key);
    if (window && now - window.startedAt >= this.limits.windowMs) {
      this.summarise(window);
      window = undefined;
    }
    if (!window) {
      window = { startedAt: now, written: 0, held: 0, lastAt: now, samples: [] };
      this.windows.delete(key);
      this.windows.set(key, window);
      this.evict();
    }
    if (window.written < this.limits.burst && this.globalWritten < this.limits.maxPerWindow) {
      window.written += 1;
      this.globalWritten += 1;
      return this.write(event);
    }
    window.held += 1;
    window.lastAt = now;
    window.first ??= event;
    if (window.samples.length < this.limits.samples) window.samples.push({ ...(event.target ? { target: event.target } : {}), ...(event.source ? { source: event.source } : {}), ...event.detail });
    this.options.onHeldBack?.(event.action);
    return Promise.resolve();
  }

  /** Writes every held-back count (at stop, or `all: false` for the windows that have ended). */
  async flush(all = true): Promise<void> {
    const now = this.now();
    for (const [key, window] of this.windows) {
      if (!all && now - window.startedAt < this.limits.windowMs) continue;
      this.summarise(window);
      this.windows.delete(key);
    }
    this.rollGlobal(now, all);
    await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  private summarise(window: KeyWindow): void {
    const first = window.first;
    if (!first || window.held === 0) return;
    const summary: AuditEvent = {
      ...first,
      detail: { ...first.detail, repeated: window.held, from: new Date(window.startedAt).toISOString(), to: new Date(window.lastAt).toISOString(), samples: window.samples },
    };
    if (this.globalWritten < this.limits.maxPerWindow) {
      this.globalWritten += 1;
      this.writeInBackground(summary);
    } else {
      this.overflow.set(first.action, (this.overflow.get(first.action) ?? 0) + window.held);
    }
  }

  /** A new global window (once the last one ended, or `force`d at a flush): what did not fit in the last one is written as one entry. */
  private rollGlobal(now: number, force = false): void {
    if (!force && now - this.globalStartedAt < this.limits.windowMs) return;
    if (this.overflow.size > 0) {
      const byAction = Object.fromEntries(this.overflow);
      this.overflow.clear();
      this.writeInBackground({ actor: 'system', action: 'audit.suppressed', outcome: 'success', detail: { reason: `more than ${this.limits.maxPerWindow} entries a minute from outside parties`, byAction, until: new Date(now).toISOString() } });
    }
    this.globalStartedAt = now;
    this.globalWritten = 0;
  }

  private evict(): void {
    while (this.windows.size > MAX_KEYS) {
      const [oldestKey, oldest] = this.windows.entries().next().value ?? [];
      if (oldestKey === undefined || oldest === undefined) break;
      this.summarise(oldest);
      this.windows.delete(oldestKey);
    }
  }

  /** The caller's own entry: a failure to write it is the caller's to handle, as with a direct append. */
  private write(event: AuditEvent): Promise<void> {
    const written = this.audit.append(event).then(() => undefined);
    this.track(written);
    return written;
  }

  /** A summary nobody waits for: a failure is logged (the counts are also in the metric). */
  private writeInBackground(event: AuditEvent): void {
    this.track(this.audit.append(event).catch((error: unknown) => this.options.log.error({ err: error, action: event.action }, 'could not write an audit summary entry')));
  }

  private track(work: Promise<unknown>): void {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }
}
