/**
 * What the console reads of the API's answers. These are the client's view of the routes in
 * cloud/api (which the console may not import): only the fields a page shows.
 */
import type { Role } from '../../../protocol/roles.js';

export type { Role };
export type Severity = 'general' | 'urgent' | 'critical';
export type TicketStatus = 'open' | 'acknowledged' | 'in_progress' | 'resolved' | 'closed';
export type AgentState = 'online' | 'offline' | 'unknown';

export interface Account {
  id: string;
  name: string;
  role: Role;
  schoolId: string | null;
  teamId: string | null;
  mustChangePassword: boolean;
}

export interface Me {
  account: Account;
  schools: string[] | null;
  timeZone: string;
  csrfToken?: string;
}

export interface ConsoleSession {
  account: Account;
  expiresAt: string;
  idleMinutes: number;
  csrfToken: string;
}

export interface AgentSummary {
  id: string;
  agentId: string;
  schoolId: string;
  roomId: string;
  state: AgentState;
  stateReason: string | null;
  stateChangedAt: string | null;
  lastSeenAt: string;
  agentVersion: string | null;
  deviceCount: number;
  openFaultCount: number;
  worstSeverity?: Severity | null;
  lastNetwork?: MeasurementVerdict | null;
  lastAvSync?: MeasurementVerdict | null;
}

export interface MeasurementVerdict {
  at: string;
  verdict: string;
  value: number;
  unit: string;
}

export interface Device {
  id: string;
  kind: string;
  name: string;
  make?: string;
  model?: string;
  serialNumber?: string;
  connection: { type: string; [key: string]: unknown };
  status: string;
  error?: { code: string; message: string };
}

export interface OpenFault {
  code: string;
  deviceId: string | null;
  category: string;
  severity: Severity;
  message: string;
  messageKey?: string;
  params?: Record<string, string | number>;
  evidence: Record<string, unknown>;
  firstSeenAt: string;
  raisedAt: string;
}

export interface AgentDetail extends AgentSummary {
  devices: Device[];
  inventoryAt: string | null;
  openFaults: OpenFault[];
}

export interface MeasurementPoint {
  at: string;
  roomId: string;
  name: string;
  value: number;
  unit: string;
  details: Record<string, unknown> | null;
}

export interface SlaTimer {
  name: 'first-response' | 'resolution' | 'on-site';
  targetMs: number;
  dueAt: string;
  state: 'running' | 'near-breach' | 'breached' | 'met' | 'missed';
  elapsedMs: number;
  remainingMs: number;
}

export interface Ticket {
  id: string;
  agentKey: string;
  code: string;
  deviceId: string | null;
  schoolId: string;
  roomId: string;
  status: TicketStatus;
  category: string;
  severity: Severity;
  severityReasons: string[];
  teamId: string | null;
  title: string;
  description: string;
  device: { id: string; kind: string | null; name: string | null; make: string | null; model: string | null } | null;
  occurrences: number;
  openedAt: string;
  updatedAt: string;
  agentActions: Array<{ action: string; at: string | null; result: string }>;
  resolution: { by: string; verifiedBy: 'agent' | 'engineer'; cause: string | null; actions: string | null; note: string; minutesToRestore: number } | null;
  rating: { by: string; score: number; comment: string | null; at: string } | null;
  sla: { firstResponse: SlaTimer; resolution: SlaTimer; onSite: SlaTimer | null };
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

export interface TicketDetail {
  ticket: Ticket;
  history: TicketHistoryEntry[];
  bundle: unknown;
  knowledge: Knowledge;
}

export interface RoomReadiness {
  schoolId: string;
  roomId: string;
  readiness: 'ready' | 'degraded' | 'down';
  reasons: Array<'no-agent-online' | 'some-agents-offline' | 'critical-fault' | 'urgent-fault' | 'general-fault'>;
  agents: number;
  online: number;
  openFaults: number;
  worstSeverity: Severity | null;
  teaching: { inLesson: boolean; minutesToNextLesson: number | null } | null;
  lessons: Array<{ weekday: number; start: string; end: string }>;
}

export interface SchoolRooms {
  schoolId: string;
  name: string | null;
  timeZone: string;
  rooms: RoomReadiness[];
}

export type SessionState = 'pending' | 'active' | 'denied' | 'revoked' | 'expired' | 'closed';

export interface RemoteSession {
  id: string;
  schoolId: string;
  agentId: string;
  roomId: string | null;
  engineer: { accountId: string; name: string; teamId: string | null };
  reason: string;
  scopes: string[];
  durationMinutes: number;
  state: SessionState;
  requestedAt: string;
  answerBy: string;
  answeredBy: string | null;
  answeredAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
  endReason: string | null;
}

export interface RemoteCommand {
  id: string;
  sessionId: string;
  action: string;
  args: Record<string, unknown>;
  issuedBy: string;
  issuedAt: string;
  status: 'sent' | 'ok' | 'failed' | 'refused' | 'unanswered';
  result: unknown;
  error: { code: string; message: string } | null;
  finishedAt: string | null;
}
