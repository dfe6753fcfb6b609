import { FAULT_CODES, type FaultCategory, type FaultCode, type Severity } from '../../protocol/index.js';
import { faultKey, type FaultCondition, type FaultSource } from './fault-condition.js';

export interface HysteresisOptions {
  /** Cycles a fault must be seen (not necessarily in a row) before it is raised. */
  raiseAfterCycles: number;
  /** Consecutive clean cycles before a raised fault is cleared, and before a pending one is forgotten. */
  clearAfterCycles: number;
  /** Codes that need a different number of sightings, e.g. sustained CPU load. */
  raiseAfterFor?: Partial<Record<FaultCode, number>>;
}

export interface FaultTransition {
  state: 'raised' | 'cleared';
  condition: FaultCondition;
  category: FaultCategory;
  severity: Severity;
  firstSeenAt: Date;
  at: Date;
}

export interface ActiveFault {
  condition: FaultCondition;
  category: FaultCategory;
  severity: Severity;
  firstSeenAt: Date;
}

interface Entry {
  condition: FaultCondition;
  raised: boolean;
  sightings: number;
  cleanStreak: number;
  firstSeenAt: Date;
}

/**
 * Raise and clear with hysteresis so a flapping cable gives one fault, not a storm: a fault is
 * raised once it has been seen in `raiseAfterCycles` cycles without a long clean gap, and
 * cleared only after `clearAfterCycles` clean cycles in a row. A cycle whose source could not be
 * read (probe failed, USB unavailable) says nothing either way, so it changes nothing.
 */
export class FaultTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: HysteresisOptions) {}

  observe(conditions: readonly FaultCondition[], readableSources: ReadonlySet<FaultSource>, now: Date): FaultTransition[] {
    const transitions: FaultTransition[] = [];
    const seen = new Set<string>();
    for (const condition of conditions) {
      const key = faultKey(condition);
      if (seen.has(key)) continue;
      seen.add(key);
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { condition, raised: false, sightings: 0, cleanStreak: 0, firstSeenAt: now };
        this.entries.set(key, entry);
      }
      entry.condition = condition;
      entry.sightings += 1;
      entry.cleanStreak = 0;
      if (!entry.raised && entry.sightings >= this.raiseAfter(condition.code)) {
        entry.raised = true;
        transitions.push(this.transition('raised', entry, now));
      }
    }
    for (const [key, entry] of this.entries) {
      if (seen.has(key) || !readableSources.has(entry.condition.source)) continue;
      entry.cleanStreak += 1;
      if (entry.cleanStreak < this.options.clearAfterCycles) continue;
      this.entries.delete(key);
      if (entry.raised) transitions.push(this.transition('cleared', entry, now));
    }
    return transitions;
  }

  /**
   * The conditions that observing these would raise, without observing them: the window in
   * which remediation may still fix a fault before anybody is told about it.
   */
  wouldRaise(conditions: readonly FaultCondition[]): FaultCondition[] {
    const due = new Map<string, FaultCondition>();
    for (const condition of conditions) {
      const key = faultKey(condition);
      const entry = this.entries.get(key);
      if (due.has(key) || entry?.raised) continue;
      if ((entry?.sightings ?? 0) + 1 >= this.raiseAfter(condition.code)) due.set(key, condition);
    }
    return [...due.values()];
  }

  active(): ActiveFault[] {
    return [...this.entries.values()]
      .filter((entry) => entry.raised)
      .map((entry) => ({ condition: entry.condition, ...FAULT_CODES[entry.condition.code], firstSeenAt: entry.firstSeenAt }));
  }

  private raiseAfter(code: FaultCode): number {
    return this.options.raiseAfterFor?.[code] ?? this.options.raiseAfterCycles;
  }

  private transition(state: FaultTransition['state'], entry: Entry, at: Date): FaultTransition {
    const { category, severity } = FAULT_CODES[entry.condition.code];
    return { state, condition: entry.condition, category, severity, firstSeenAt: entry.firstSeenAt, at };
  }
}
