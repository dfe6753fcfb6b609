/**
 * The fleet as the HTTP API serves it (GET /api/agents, /api/agents/ID, /api/rooms, measurements):
 * the cloud builds these, the console reads them. Types only: JSON, times as ISO strings.
 */
import type { Device } from '../device.js';
import type { OutboxStats } from '../outbox-stats.js';
import type { FaultCategory, Severity } from '../severity.js';
import type { FaultCode } from '../fault-codes.js';
import type { SystemSnapshot } from '../system.js';

/**
 * Agents are keyed by school and agent id together: agent ids default to host names, and two
 * schools may well both have a "PC-01". The key is `${schoolId}:${agentId}` (":" cannot occur in
 * either id, so it is unambiguous) and is the `:id` of the HTTP API.
 */
export type AgentKey = `${string}:${string}`;

export type AgentState = 'online' | 'offline' | 'unknown';

export interface AgentSummary {
  id: AgentKey;
  agentId: string;
  schoolId: string;
  roomId: string;
  state: AgentState;
  /** Why it is offline: "last will" (crash or network loss announced by the broker), "stopped" (clean stop), ... */
  stateReason: string | null;
  stateChangedAt: string | null;
  lastSeenAt: string;
  agentVersion: string | null;
  deviceCount: number;
  openFaultCount: number;
  /** The most severe of the open faults; null without any. */
  worstSeverity: Severity | null;
  /** The newest network and A/V sync results; null before the first. */
  lastNetwork: LatestMeasurement | null;
  lastAvSync: LatestMeasurement | null;
}

export interface LatestMeasurement {
  at: string;
  /** The test's verdict (meets-targets, below-targets, poor; imperceptible, detectable, unacceptable, ...), or why it did not finish. */
  verdict: string;
  value: number;
  unit: string;
}


export interface OpenFault {
  code: FaultCode;
  deviceId: string | null;
  category: FaultCategory;
  severity: Severity;
  /** In English, as the PC wrote it; the console shows messageKey + params in the reader's language instead. */
  message: string;
  messageKey?: string;
  params?: Record<string, string | number>;
  evidence: Record<string, unknown>;
  firstSeenAt: string;
  raisedAt: string;
  eventId: string;
}

export interface HealthPoint {
  at: string;
  /** "raw" samples are kept for the retention window; older ones are folded into "hour" averages. */
  resolution: 'raw' | 'hour';
  cpuLoadPercent: number;
  memoryAvailableBytes: number;
  diskUsePercentMax: number;
  cpuTemperatureC: number | null;
  outbox?: OutboxStats;
}

export interface AgentDetail extends AgentSummary {
  devices: Device[];
  inventoryAt: string | null;
  system: SystemSnapshot | null;
  openFaults: OpenFault[];
  recentHealth: HealthPoint[];
}

/** Whether a class can be taught in a room now, as the people who must decide it read it. */
export type Readiness = 'ready' | 'degraded' | 'down';

/** Why a room is not simply ready; the console words each in the reader's language. */
export type ReadinessReason = 'no-agent-online' | 'some-agents-offline' | 'critical-fault' | 'urgent-fault' | 'general-fault';

/** A room in a lesson now, or minutes to its next lesson (null: none ahead today). */
export interface TeachingNow {
  inLesson: boolean;
  minutesToNextLesson: number | null;
}

export interface RoomReadiness {
  schoolId: string;
  roomId: string;
  readiness: Readiness;
  reasons: ReadinessReason[];
  agents: number;
  online: number;
  openFaults: number;
  worstSeverity: Severity | null;
  /** null: the room has no timetable in the service configuration. */
  teaching: TeachingNow | null;
  /** The room's weekly lessons from its timetable (empty without one). */
  lessons: ReadonlyArray<{ weekday: number; start: string; end: string }>;
}

/** GET /api/rooms: the rooms of each school in the reader's scope. */
export interface SchoolRooms {
  schoolId: string;
  name: string | null;
  timeZone: string;
  rooms: RoomReadiness[];
}

/** One result of a test as the API serves it: when, what, the headline figure and the whole result. */
export interface MeasurementPoint {
  at: string;
  roomId: string;
  name: string;
  value: number;
  unit: string;
  details: Record<string, unknown> | null;
}
