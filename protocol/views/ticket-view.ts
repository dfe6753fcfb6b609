/**
 * Tickets as the HTTP API serves them (GET /api/tickets, /api/tickets/ID, /api/quality): the cloud
 * builds these, the console reads them. Types only (and the report's groups): JSON, times as ISO strings.
 */
import type { FaultCategory, Severity } from '../severity.js';

export type TicketStatus = 'open' | 'acknowledged' | 'in_progress' | 'resolved' | 'closed';

export type SlaTimerName = 'first-response' | 'resolution' | 'on-site';

/**
 * running: not done, below the near-breach share; near-breach: not done, at or past that share;
 * breached: not done and past due; met: done at or before due; missed: done after due.
 */
export type SlaTimerState = 'running' | 'near-breach' | 'breached' | 'met' | 'missed';

/** One SLA promise of a ticket as the API serves it (the cloud computes it with Date, sends ISO). */
export interface SlaTimerView {
  name: SlaTimerName;
  /** The promise, in the policy's clock (business ms for 'business'). */
  targetMs: number;
  dueAt: string;
  state: SlaTimerState;
  /** Clock time from start to completion, or to now while not done. */
  elapsedMs: number;
  /** targetMs - elapsedMs: the margin left, negative once the target is used up. */
  remainingMs: number;
}

/** A ticket as the API shows it. Times are ISO strings; JSON columns are parsed. */
export interface Ticket {
  id: string;
  agentKey: string;
  code: string;
  /** The fault's device id, null for the PC itself (and for offline and teacher tickets). */
  deviceId: string | null;
  schoolId: string;
  roomId: string;
  status: TicketStatus;
  category: FaultCategory;
  severity: Severity;
  severityReasons: string[];
  regionId: string | null;
  teamId: string | null;
  title: string;
  description: string;
  device: TicketDevice | null;
  occurrences: number;
  flaps: number;
  reopens: number;
  firstOccurrenceAt: string;
  lastOccurrenceAt: string;
  faultClearedAt: string | null;
  openedAt: string;
  acknowledgedAt: string | null;
  firstResponseAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
  onSiteRequestedAt: string | null;
  onSiteArrivedAt: string | null;
  agentActions: AgentAction[];
  resolution: ResolutionReport | null;
  rating: ServiceRating | null;
  updatedAt: string;
}

export interface TicketDevice {
  id: string;
  kind: string | null;
  name: string | null;
  make: string | null;
  model: string | null;
  serialNumber: string | null;
}

/** Something the agent did about the fault before anybody was asked (re-probe, USB reset, VISCA re-init). */
export interface AgentAction {
  action: string;
  at: string | null;
  result: string;
}

export interface ResolutionReport {
  by: string;
  /** "agent": the fault stayed clear for the hold time; "engineer": someone resolved it. */
  verifiedBy: 'agent' | 'engineer';
  cause: string | null;
  actions: string | null;
  note: string;
  /** From the first occurrence to the resolution, in whole minutes. */
  minutesToRestore: number;
}

export interface ServiceRating {
  by: string;
  score: number;
  comment: string | null;
  at: string;
}

export interface TicketHistoryEntry {
  at: string;
  step: number;
  actor: string;
  action: string;
  fromStatus: TicketStatus | null;
  toStatus: TicketStatus | null;
  detail: Record<string, unknown>;
}

export interface Knowledge {
  code: string;
  selfHelp: string[];
  pastResolutions: Array<{ ticketId: string; at: string; by: string; cause: string | null; actions: string | null; note: string }>;
}

/** A ticket with where each SLA promise stands now. */
export interface TicketWithSla extends Ticket {
  sla: { firstResponse: SlaTimerView; resolution: SlaTimerView; onSite: SlaTimerView | null };
}

/** GET /api/tickets/ID and every move's answer. */
export interface TicketDetail {
  ticket: TicketWithSla;
  history: TicketHistoryEntry[];
  bundle: unknown;
  knowledge: Knowledge;
}

/** What the service-quality report groups tickets by. */
export const QUALITY_GROUPS = ['category', 'severity', 'school', 'region', 'team'] as const;
export type QualityGroup = (typeof QUALITY_GROUPS)[number];

/** One group's figures; times are wall-clock means in ms, shares in % of the tickets they apply to (null: none yet). */
export interface QualityRow {
  group: string | null;
  opened: number;
  resolved: number;
  meanFirstResponseMs: number | null;
  meanResolveMs: number | null;
  meanOnSiteMs: number | null;
  firstResponseAttainment: number | null;
  resolutionAttainment: number | null;
  onSiteAttainment: number | null;
  resolvedByAgent: number;
  resolvedRemotely: number;
  resolvedOnSite: number;
  ratings: number;
  meanRating: number | null;
}

export interface RepeatFault {
  schoolId: string;
  roomId: string;
  code: string;
  tickets: number;
}

export interface QualityReport {
  from: string;
  to: string;
  groupBy: QualityGroup;
  total: QualityRow;
  groups: QualityRow[];
  repeatFaults: RepeatFault[];
}

