import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { AvcareError, topicFor, type AgentMessage, type MessageKind, type OutboxStats } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../../protocol/log.js';

/** One stored event, ready to publish as it is. */
export interface OutboxEntry {
  seq: number;
  kind: MessageKind;
  topic: string;
  /** The message as JSON, seq included: published byte for byte, so a resend is identical. */
  payload: string;
  retain: boolean;
}

export interface OutboxOptions {
  /** The SQLite file; normally outboxFile(stateDir). */
  path: string;
  /** Bound of stored events (config.outbox.maxEvents); faults and reports alone may exceed it up to the hard cap. */
  maxEvents: number;
  log?: Logger;
}

/**
 * Faults are never thinned to make room for other events; when nothing but faults is left they may
 * exceed maxEvents by this share before the oldest fault is dropped (with an error log and a
 * count). 10 % leaves room for a storm of faults at the end of a long outage without letting the
 * file grow without bound.
 */
export const FAULT_OVERFLOW_RATIO = 0.1;

export function outboxFile(stateDir: string): string {
  return join(stateDir, 'outbox.sqlite');
}

type DropCounter = 'droppedHealth' | 'droppedOther' | 'droppedFaults';
const DROP_COUNTERS: readonly DropCounter[] = ['droppedHealth', 'droppedOther', 'droppedFaults'];

interface EntryRow {
  seq: number;
  kind: MessageKind;
  topic: string;
  payload: string;
  retain: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS outbox_events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    retain INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS outbox_events_by_kind ON outbox_events (kind, seq);
  CREATE TABLE IF NOT EXISTS outbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * The agent's durable queue of unsent events: every event is written here (and fsynced) before
 * it is published and deleted only when the broker acknowledges it, so a crash, a `kill -9` or a
 * power cut loses nothing that enqueue() returned. The outbox assigns each event its sequence
 * number from a persisted counter, so numbers are never reused, even after deletes and restarts.
 *
 * Nothing is held in memory: the publisher reads a small window at a time with next().
 */
export class Outbox {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly maxEvents: number;
  private readonly hardCap: number;
  private readonly log: Logger;
  private full = false;
  private readonly statements;
  private readonly enqueueInTransaction;
  private readonly ackInTransaction;

  constructor(options: OutboxOptions) {
    this.path = options.path;
    this.maxEvents = options.maxEvents;
    this.hardCap = options.maxEvents + Math.ceil(options.maxEvents * FAULT_OVERFLOW_RATIO);
    this.log = (options.log ?? silentLogger).child({ module: 'outbox' });
    this.db = openDatabase(options.path);
    this.statements = {
      nextSeq: this.db.prepare<[], { value: number }>(`UPDATE outbox_counters SET value = value + 1 WHERE name = 'lastSeq' RETURNING value`),
      insert: this.db.prepare<[number, string, string, string, number]>('INSERT INTO outbox_events (seq, kind, topic, payload, retain) VALUES (?, ?, ?, ?, ?)'),
      count: this.db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM outbox_events'),
      oldestOfKind: this.db.prepare<[string], { seq: number }>('SELECT seq FROM outbox_events WHERE kind = ? ORDER BY seq LIMIT 1'),
      newestOfKind: this.db.prepare<[string], { seq: number }>('SELECT seq FROM outbox_events WHERE kind = ? ORDER BY seq DESC LIMIT 1'),
      delete: this.db.prepare<[number]>('DELETE FROM outbox_events WHERE seq = ?'),
      has: this.db.prepare<[number], { seq: number }>('SELECT seq FROM outbox_events WHERE seq = ?'),
      next: this.db.prepare<[number, number], EntryRow>('SELECT seq, kind, topic, payload, retain FROM outbox_events WHERE seq > ? ORDER BY seq LIMIT ?'),
      counter: this.db.prepare<[string], { value: number }>('SELECT value FROM outbox_counters WHERE name = ?'),
      addToCounter: this.db.prepare<[number, string]>('UPDATE outbox_counters SET value = value + ? WHERE name = ?'),
      resetDrops: this.db.prepare(`UPDATE outbox_counters SET value = 0 WHERE name IN ('droppedHealth', 'droppedOther', 'droppedFaults')`),
    };
    this.enqueueInTransaction = this.db.transaction((message: AgentMessage, retain: boolean) => this.store(message, retain));
    this.ackInTransaction = this.db.transaction((seqs: readonly number[]) => {
      for (const seq of seqs) this.statements.delete.run(seq);
    });
  }

  /**
   * Stores the event with the next sequence number and returns it with `seq` set. A health sample
   * also gets the outbox stats (the drops since the previous sample), and the drop counters are
   * reset in the same transaction, so a drop is reported exactly once. When the outbox is full
   * the oldest health samples are thinned first, then other non-fault events; see makeRoom().
   */
  enqueue(message: AgentMessage, options: { retain: boolean }): AgentMessage {
    // IMMEDIATE: the transaction reads (count, counters) before it writes; a deferred one would fail
    // at once with SQLITE_BUSY, without waiting, if another connection wrote in between.
    return this.enqueueInTransaction.immediate(message, options.retain);
  }

  /** The oldest unsent events after `afterSeq`, in sequence order. */
  next(limit: number, afterSeq = 0): OutboxEntry[] {
    return this.statements.next.all(afterSeq, limit).map((row) => ({ ...row, retain: row.retain === 1 }));
  }

  /** Whether the event is still unsent: how `avcare-agent report` sees the daemon send its report. */
  contains(seq: number): boolean {
    return this.statements.has.get(seq) !== undefined;
  }

  /** Deletes an event the broker acknowledged. */
  ack(seq: number): void {
    this.statements.delete.run(seq);
  }

  /** Deletes several acknowledged events in one transaction: one fsync instead of one per event. */
  ackMany(seqs: readonly number[]): void {
    if (seqs.length > 0) this.ackInTransaction.immediate(seqs);
  }

  /** Pending events and the drops not yet reported in a health sample. */
  stats(): OutboxStats {
    return { pending: this.pending(), droppedHealth: this.counter('droppedHealth'), droppedOther: this.counter('droppedOther'), droppedFaults: this.counter('droppedFaults') };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private store(message: AgentMessage, retain: boolean): AgentMessage {
    const seq = this.statements.nextSeq.get()?.value;
    if (seq === undefined) throw new Error('outbox counter lastSeq is missing');
    const room = this.makeRoom(message.type);
    if (!room) {
      // Only faults are left and this is not one: the new event is the one that gives way.
      this.count(message.type === 'health' ? 'droppedHealth' : 'droppedOther');
      return { ...message, seq };
    }
    let stored: AgentMessage = { ...message, seq };
    if (stored.type === 'health') {
      stored = { ...stored, outbox: this.stats() };
      this.statements.resetDrops.run();
    }
    const topic = topicFor({ school: stored.schoolId, room: stored.roomId, agent: stored.agentId, kind: stored.type });
    this.statements.insert.run(seq, stored.type, topic, JSON.stringify(stored), retain ? 1 : 0);
    return stored;
  }

  /**
   * Frees a slot for one more event of `kind`, in this order: the oldest health sample; the oldest
   * measurement or superseded inventory (the latest inventory is the room's current state and
   * stays until a new inventory replaces it). Faults and reports are never thinned: when only they
   * are left, a new one may go over maxEvents up to the hard cap, beyond which the oldest fault is
   * dropped. Returns false when the new event (neither a fault nor a report) must give way.
   */
  private makeRoom(kind: MessageKind): boolean {
    let pending = this.pending();
    if (pending < this.maxEvents) {
      if (this.full) this.log.info({ pending, maxEvents: this.maxEvents }, 'outbox has room again');
      this.full = false;
      return true;
    }
    if (!this.full) this.log.warn({ pending, maxEvents: this.maxEvents }, 'outbox full: thinning the oldest health samples, then other non-fault events');
    this.full = true;
    while (pending >= this.maxEvents) {
      const victim = this.statements.oldestOfKind.get('health')?.seq;
      if (victim !== undefined) {
        this.drop(victim, 'droppedHealth');
      } else {
        const other = this.oldestSuperseded();
        if (other !== undefined) {
          this.drop(other, 'droppedOther');
        } else if (kind === 'inventory') {
          // Only faults and the latest inventory are left: the new inventory takes the old one's place.
          const latest = this.statements.newestOfKind.get('inventory')?.seq;
          if (latest === undefined) return false;
          this.drop(latest, 'droppedOther');
          return true;
        } else if (kind === 'fault' || kind === 'report') {
          // A person's report is as precious as a fault: nothing but the hard cap makes it give way.
          if (pending < this.hardCap) return true;
          const oldest = this.statements.oldestOfKind.get('fault')?.seq;
          if (oldest === undefined) return true;
          this.log.error({ seq: oldest, pending, hardCap: this.hardCap }, 'outbox holds nothing but faults beyond its hard cap: dropped the oldest fault');
          this.drop(oldest, 'droppedFaults');
        } else {
          return false;
        }
      }
      pending -= 1;
    }
    return true;
  }

  /** The oldest measurement or inventory other than the latest one (the room's current state). */
  private oldestSuperseded(): number | undefined {
    const measurement = this.statements.oldestOfKind.get('measurement')?.seq;
    let inventory = this.statements.oldestOfKind.get('inventory')?.seq;
    if (inventory !== undefined && inventory === this.statements.newestOfKind.get('inventory')?.seq) inventory = undefined;
    if (measurement === undefined) return inventory;
    if (inventory === undefined) return measurement;
    return Math.min(measurement, inventory);
  }

  private drop(seq: number, counter: DropCounter): void {
    this.statements.delete.run(seq);
    this.count(counter);
  }

  private count(counter: DropCounter): void {
    this.statements.addToCounter.run(1, counter);
  }

  private pending(): number {
    return this.statements.count.get()?.count ?? 0;
  }

  private counter(name: DropCounter): number {
    return this.statements.counter.get(name)?.value ?? 0;
  }
}

function openDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
  } catch (error) {
    throw new AvcareError('STATE_UNWRITABLE', `cannot open the outbox ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
  // WAL lets the publisher read while an enqueue writes. synchronous=FULL makes every commit fsync
  // the WAL before enqueue() returns: with the default NORMAL, WAL commits survive a process crash
  // but the last ones can vanish on a power cut, and an event the daemon was told is stored must
  // not. Events are few (a health sample every 30 s, faults on change), so the fsync costs nothing
  // that matters; acknowledgements are batched by ackMany() for the same reason.
  // Another process (a peek by `doctor`, a test) may hold the lock for a moment: wait, do not fail.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const seed = db.prepare('INSERT OR IGNORE INTO outbox_counters (name, value) VALUES (?, ?)');
  db.transaction(() => {
    // A file from before the counter existed (or a hand-edited one) continues after its highest seq.
    const highest = db.prepare<[], { highest: number | null }>('SELECT MAX(seq) AS highest FROM outbox_events').get()?.highest ?? 0;
    seed.run('lastSeq', highest);
    for (const counter of DROP_COUNTERS) seed.run(counter, 0);
  }).immediate();
  return db;
}
