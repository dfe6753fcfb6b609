import { FAULT_CODES, type FaultCategory, type FaultCode, type Severity } from '../../protocol/index.js';
import { capabilityLost, roomCannotTeach, type TeachingCapability } from './teaching-impact.js';
import { HOUR_MS, MINUTE_MS, type TicketPolicy } from './ticket-policy.js';

/**
 * The pure half of ticketing: facts in, decisions and drafts out. The engine reads the facts from
 * the store, applies what these functions return, and does the I/O; nothing here reads a clock.
 */

import type { TicketStatus } from '../../protocol/views/ticket-view.js';

export type { TicketStatus };

/** The code of tickets about an agent that stopped reporting. */
export const AGENT_OFFLINE = 'AGENT_OFFLINE';
/** The code of tickets a teacher filed with `avcare-agent report`. */
export const TEACHER_REPORT = 'TEACHER_REPORT';

/** A fault as the store keeps it (faults table), the fact a fault ticket follows. */
export interface FaultFact {
  code: string;
  state: 'raised' | 'cleared';
  /** Epoch ms of the raise that opened the current episode. */
  raisedAt: number;
  /** Epoch ms of the newest event applied (the clear, for a cleared fault). */
  changedAt: number;
}

/** The parts of a ticket the rules look at. */
export interface TicketFacts {
  status: TicketStatus;
  episodeRaisedAt: number | null;
  faultClearedAt: number | null;
  resolvedAt: number | null;
}

export type FaultDecision =
  /** Nothing to do: the fact is already reflected (a redelivery, a late event). */
  | { action: 'none' }
  | { action: 'open' }
  /** A new episode of the fault on a ticket still being worked: counted, and flagged as a flap when it came back soon after clearing. */
  | { action: 'recur'; flap: boolean }
  /** A resolved ticket whose fault came back within the reopen window. */
  | { action: 'reopen'; flap: boolean }
  /** The agent reports the fault clear: the hold starts. */
  | { action: 'cleared'; at: number };

export function decideForFault(fault: FaultFact, ticket: TicketFacts | undefined, policy: TicketPolicy): FaultDecision {
  if (fault.state === 'cleared') {
    if (!ticket || ticket.status === 'resolved' || ticket.status === 'closed') return { action: 'none' };
    if (ticket.faultClearedAt !== null && ticket.faultClearedAt >= fault.changedAt) return { action: 'none' };
    // A clear of an episode older than the ticket's is late news the ticket has moved past.
    if (ticket.episodeRaisedAt !== null && fault.raisedAt < ticket.episodeRaisedAt) return { action: 'none' };
    return { action: 'cleared', at: fault.changedAt };
  }
  if (!ticket) return { action: 'open' };
  const newEpisode = ticket.episodeRaisedAt === null || fault.raisedAt > ticket.episodeRaisedAt;
  if (!newEpisode) return { action: 'none' };
  const clearedAt = ticket.faultClearedAt;
  const flap = clearedAt !== null && fault.raisedAt - clearedAt <= policy.flapWindowMinutes * MINUTE_MS;
  if (ticket.status === 'resolved') return { action: 'reopen', flap };
  if (ticket.status === 'closed') return { action: 'open' };
  return { action: 'recur', flap };
}

/** The fault stayed clear for the hold time: the agent has verified the fix. */
export function holdElapsed(ticket: TicketFacts, policy: TicketPolicy, now: number): boolean {
  return ticket.status !== 'resolved' && ticket.status !== 'closed' && ticket.faultClearedAt !== null && now - ticket.faultClearedAt >= policy.holdMinutes * MINUTE_MS;
}

/** A resolved ticket past its reopen window closes; a new occurrence then opens a new ticket. */
export function reopenWindowPassed(ticket: TicketFacts, policy: TicketPolicy, now: number): boolean {
  return ticket.status === 'resolved' && ticket.resolvedAt !== null && now - ticket.resolvedAt >= policy.reopenWindowHours * HOUR_MS;
}

export type AgentStateDecision = { action: 'none' } | { action: 'open' } | { action: 'resolve' };

/** An agent offline past the grace opens a ticket; one back online resolves it. */
export function decideForAgentState(
  agent: { state: 'online' | 'offline' | 'unknown'; stateChangedAt: number | null },
  ticket: TicketFacts | undefined,
  policy: TicketPolicy,
  now: number,
): AgentStateDecision {
  const working = ticket !== undefined && ticket.status !== 'resolved' && ticket.status !== 'closed';
  if (agent.state === 'online') return working ? { action: 'resolve' } : { action: 'none' };
  if (agent.state !== 'offline' || agent.stateChangedAt === null) return { action: 'none' };
  if (working) return { action: 'none' };
  return now - agent.stateChangedAt >= policy.offlineGraceMinutes * MINUTE_MS ? { action: 'open' } : { action: 'none' };
}

/** What bears on how bad a ticket is, besides the fault itself. */
export interface ImpactContext {
  /** Capabilities the room has lost to its open faults, this one included. */
  roomLost: ReadonlySet<TeachingCapability>;
  /** From the room's timetable; null when the room has none. */
  teaching: { inLesson: boolean; minutesToNextLesson: number | null } | null;
  /** Rooms of the school with tickets opened within the school-incident window, this one included. */
  schoolRoomsHit: number;
  /** The fault's code, when the lead before a lesson depends on it (a battery needs time to charge). */
  code?: string;
}

/** Faults whose cure takes time before a lesson, and so matter that much sooner. */
function lessonLead(code: string | undefined, policy: TicketPolicy): number {
  return code === 'VR_BATTERY_LOW' ? Math.max(policy.chargeLeadMinutes, policy.lessonLeadMinutes) : policy.lessonLeadMinutes;
}

export interface SeverityDecision {
  severity: Severity;
  reasons: string[];
}

const ORDER: readonly Severity[] = ['general', 'urgent', 'critical'];

function raise(severity: Severity, to: Severity): Severity {
  return ORDER.indexOf(to) > ORDER.indexOf(severity) ? to : severity;
}

/**
 * Severity rises with the teaching it costs (shared/domain.md): the fault's own level; one step up
 * during a lesson or shortly before the next; critical for a room that cannot teach at all or
 * when many rooms of one school are hit at once.
 */
export function ticketSeverity(base: Severity, context: ImpactContext, policy: TicketPolicy): SeverityDecision {
  let severity = base;
  const reasons = [`${base}: the fault's level`];
  const teaching = context.teaching;
  const soon = teaching !== null && teaching.minutesToNextLesson !== null && teaching.minutesToNextLesson <= lessonLead(context.code, policy);
  if (teaching?.inLesson || soon) {
    const stepped = ORDER[Math.min(ORDER.indexOf(severity) + 1, ORDER.length - 1)] ?? severity;
    if (stepped !== severity) {
      severity = stepped;
      reasons.push(teaching?.inLesson ? `${stepped}: a lesson is under way` : `${stepped}: the next lesson starts in ${teaching?.minutesToNextLesson ?? 0} min`);
    }
  }
  if (roomCannotTeach(context.roomLost)) {
    severity = raise(severity, 'critical');
    reasons.push(`critical: the room cannot teach (lost: ${[...context.roomLost].sort().join(', ')})`);
  }
  if (context.schoolRoomsHit >= policy.schoolIncident.rooms) {
    severity = raise(severity, 'critical');
    reasons.push(`critical: ${context.schoolRoomsHit} rooms of this school hit within ${policy.schoolIncident.windowMinutes} min`);
  }
  return { severity, reasons };
}

/** Category and default severity of a code, from the one table (shared/domain.md via protocol/). */
export function codeInfo(code: string): { category: FaultCategory; severity: Severity; title: string } {
  if (code === AGENT_OFFLINE) return { category: 'network', severity: 'general', title: 'Classroom PC stopped reporting' };
  if (code === TEACHER_REPORT) return { category: 'operation', severity: 'general', title: 'Reported by the teacher' };
  const info = FAULT_CODES[code as FaultCode] as { category: FaultCategory; severity: Severity; title: string } | undefined;
  return info ?? { category: 'software', severity: 'general', title: code };
}

export { capabilityLost };
