import type { Logger } from 'pino';
import { changedSince } from '../sessions/session-store.js';
import type { Dialect } from '../store/dialect.js';

/**
 * What the console hears live: that something changed, and where. A page that cares reads the
 * thing itself through the API (its scope checked there again); the feed carries ids and states only.
 */
export type LiveChange =
  | { type: 'agent'; schoolId: string; agent: string; state: string; at: string }
  | { type: 'fault'; schoolId: string; agent: string; code: string; state: string; at: string }
  | { type: 'ticket'; schoolId: string; ticket: string; status: string; at: string }
  | { type: 'session'; schoolId: string; session: string; state: string; at: string };

type Listener = (change: LiveChange) => void;

interface Watcher {
  schools: ReadonlySet<string> | undefined;
  listener: Listener;
}

export interface ChangeFeedOptions {
  db: Dialect;
  log: Logger;
  /** How often the database is asked (1 s: a change shows in the console within 2 s). */
  intervalMs?: number;
  now?: () => number;
}

/** Rows committed while a read ran, and another process's clock, are caught by reading this far back. */
const OVERLAP_MS = 5_000;

/**
 * One reader of the database per cloud process, however many console tabs are open: it asks each
 * second which agents, faults, tickets and sessions changed, and hands each change to the tabs
 * whose scope holds its school. Reading the rows (not this process's own events) makes changes
 * that another collector or cloud process wrote appear as well. It reads only while someone watches.
 */
export class ChangeFeed {
  private readonly watchers = new Set<Watcher>();
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private since = 0;
  private reading = false;
  /** Changes already handed out in the overlap window, so a change is told once. */
  private told = new Map<string, number>();

  constructor(private readonly options: ChangeFeedOptions) {
    this.intervalMs = options.intervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Calls `listener` with each change in these schools (undefined: every school); returns the function that stops it. */
  watch(schools: ReadonlySet<string> | undefined, listener: Listener): () => void {
    const watcher: Watcher = { schools, listener };
    this.watchers.add(watcher);
    if (this.timer === undefined) {
      this.since = this.now();
      this.timer = setInterval(() => void this.read(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.told.clear();
  }

  /** One read of what changed; public so tests drive it without waiting for the timer. */
  async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const readAt = this.now();
      const from = this.since - OVERLAP_MS;
      const changes = await this.changedSince(from);
      this.since = readAt;
      for (const [key, at] of this.told) if (at < from) this.told.delete(key);
      for (const change of changes) {
        const key = `${change.type}:${'agent' in change ? change.agent : ''}:${'code' in change ? change.code : ''}:${'ticket' in change ? change.ticket : ''}:${'session' in change ? change.session : ''}:${change.at}`;
        if (this.told.has(key)) continue;
        this.told.set(key, Date.parse(change.at));
        for (const watcher of this.watchers) {
          if (watcher.schools !== undefined && !watcher.schools.has(change.schoolId)) continue;
          try {
            watcher.listener(change);
          } catch (error) {
            this.options.log.warn({ err: error }, 'a live-feed listener failed');
          }
        }
      }
    } catch (error) {
      // The next read covers this one's window again: nothing is lost, the feed is only late.
      this.options.log.warn({ err: error }, 'live feed: the database cannot be read right now');
    } finally {
      this.reading = false;
    }
  }

  private async changedSince(from: number): Promise<LiveChange[]> {
    const { db } = this.options;
    const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();
    const agents = await db.query<{ agent_key: string; school_id: string; state: string; state_changed_at: number }>(
      'SELECT agent_key, school_id, state, state_changed_at FROM agents WHERE state_changed_at >= $1',
      [from],
    );
    const faults = await db.query<{ agent_key: string; school_id: string; code: string; state: string; changed_at: number }>(
      'SELECT f.agent_key, a.school_id, f.code, f.state, f.changed_at FROM faults f JOIN agents a ON a.agent_key = f.agent_key WHERE f.changed_at >= $1',
      [from],
    );
    const tickets = await db.query<{ id: string; school_id: string; status: string; updated_at: number }>('SELECT id, school_id, status, updated_at FROM tickets WHERE updated_at >= $1', [from]);
    // A session changes when asked, answered, ended, or when one of its commands is sent or answered.
    const steps = await changedSince(db, from, undefined);
    const sessionChanges = [
      ...steps.sessions.map((session): LiveChange => ({ type: 'session', schoolId: session.schoolId, session: session.id, state: session.state, at: session.endedAt ?? session.answeredAt ?? session.requestedAt })),
      ...steps.commands.map(({ schoolId, command }): LiveChange => ({ type: 'session', schoolId, session: command.sessionId, state: command.status, at: command.finishedAt ?? command.issuedAt })),
    ];
    return [
      ...agents.map((row): LiveChange => ({ type: 'agent', schoolId: row.school_id, agent: row.agent_key, state: row.state, at: iso(row.state_changed_at) })),
      ...faults.map((row): LiveChange => ({ type: 'fault', schoolId: row.school_id, agent: row.agent_key, code: row.code, state: row.state, at: iso(row.changed_at) })),
      ...tickets.map((row): LiveChange => ({ type: 'ticket', schoolId: row.school_id, ticket: row.id, status: row.status, at: iso(row.updated_at) })),
      ...sessionChanges,
    ];
  }
}
