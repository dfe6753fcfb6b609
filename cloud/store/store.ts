import type { Dialect } from './dialect.js';
import type { AgentMessage, FaultMessage, HealthMessage, InventoryMessage } from '../../protocol/index.js';

import type { AgentDetail, AgentKey, AgentState, AgentSummary } from '../../protocol/views/fleet-view.js';

export type { AgentDetail, AgentKey, AgentState, AgentSummary, HealthPoint, LatestMeasurement, OpenFault } from '../../protocol/views/fleet-view.js';

export function agentKey(schoolId: string, agentId: string): AgentKey {
  return `${schoolId}:${agentId}`;
}

/** One message as the collector accepted it: parsed with its schema, topic checked against its body. */
export interface AcceptedEvent {
  message: AgentMessage;
  receivedAt: Date;
}

export interface IngestResult {
  /** Events written for the first time. */
  stored: number;
  /** Events whose eventId was already stored (at-least-once delivery in, exactly-once rows out). */
  duplicates: number;
  /** Faults whose state the batch changed, agents that sent a status, and teachers' reports: what tickets follow up. */
  changed?: { faults: Array<{ agentKey: string; code: string; deviceKey: string }>; agents: string[]; reports: Array<{ agentKey: string; eventId: string }> };
}

export interface AgentFilter {
  schoolId?: string;
  schoolIds?: readonly string[];
  state?: AgentState;
  /** Part of the school, PC or room id, without regard to ASCII case. */
  text?: string;
  /** Only agents with an open fault. */
  withFaults?: boolean;
}

/** A stored event as read back (tests and diagnostics), in per-agent sequence order. */
export interface StoredEvent {
  eventId: string;
  agentKey: AgentKey;
  seq: number | null;
  type: AgentMessage['type'];
  at: string;
  receivedAt: string;
  message: AgentMessage;
}

export interface RetentionPolicy {
  /** Raw health samples older than this are averaged per agent and hour, then deleted. */
  rawHealthDays: number;
  /** Hourly health averages older than this are deleted. */
  hourlyHealthDays: number;
  /** Fault, inventory, status and measurement events older than this are deleted. */
  eventDays: number;
}

export interface PruneResult {
  rawHealthFolded: number;
  hourlyHealthDeleted: number;
  eventsDeleted: number;
}

/**
 * The one query layer: SQLite (embedded, better-sqlite3) and PostgreSQL (`pg`) implement it over
 * one set of migrations, and the test suite runs against both.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** The query layer itself, for modules that keep tables of their own (tickets). */
  readonly database: Dialect;
  /** Applies pending migrations; safe to call on every start and from two processes at once. */
  migrate(): Promise<void>;
  /**
   * Writes a batch in one transaction: new events (duplicates by eventId skipped), health points,
   * and the fleet state they imply (online/offline, last seen, latest inventory and health, open
   * faults). Idempotent: the same batch twice changes nothing the second time.
   */
  ingest(events: readonly AcceptedEvent[]): Promise<IngestResult>;
  listAgents(filter?: AgentFilter): Promise<AgentSummary[]>;
  /** One page of the fleet in id order, and how many agents the filter matches in all. */
  agentsPage(filter: AgentFilter, page: { limit: number; offset: number }): Promise<{ agents: AgentSummary[]; total: number }>;
  getAgent(id: AgentKey, options?: { healthSince?: Date }): Promise<AgentDetail | null>;
  events(id: AgentKey, options?: { type?: AgentMessage['type']; limit?: number }): Promise<StoredEvent[]>;
  /** An agent's measurements at or after `since`, oldest first, at most `limit`; `name` filters by the test's name. */
  measurements(id: AgentKey, options: { since: Date; name?: string; limit: number }): Promise<StoredEvent[]>;
  countEvents(): Promise<number>;
  prune(now: Date, policy: RetentionPolicy): Promise<PruneResult>;
  close(): Promise<void>;
}

export type { FaultMessage, HealthMessage, InventoryMessage };
