import type { Severity } from '../../protocol/index.js';
import type { AgentSummary, Readiness, ReadinessReason, RoomReadiness, TeachingNow } from '../../protocol/views/fleet-view.js';

export type { Readiness, ReadinessReason, RoomReadiness };

/**
 * A room is down when none of its PCs answers or a critical fault is open (the class cannot use its
 * AV), degraded when it can teach with something missing (an urgent or general fault, one of
 * several PCs offline), ready otherwise. A pure function: the route gathers the facts.
 */
export function roomReadiness(
  schoolId: string,
  roomId: string,
  agents: readonly AgentSummary[],
  timetable: { teaching: TeachingNow | null; lessons: RoomReadiness['lessons'] } = { teaching: null, lessons: [] },
): RoomReadiness {
  const online = agents.filter((agent) => agent.state === 'online').length;
  const severities = new Set(agents.map((agent) => agent.worstSeverity).filter((severity): severity is Severity => severity !== null));
  const reasons: ReadinessReason[] = [];
  if (online === 0) reasons.push('no-agent-online');
  else if (online < agents.length) reasons.push('some-agents-offline');
  if (severities.has('critical')) reasons.push('critical-fault');
  if (severities.has('urgent')) reasons.push('urgent-fault');
  if (severities.has('general')) reasons.push('general-fault');
  const readiness: Readiness = reasons.includes('no-agent-online') || reasons.includes('critical-fault') ? 'down' : reasons.length > 0 ? 'degraded' : 'ready';
  const worstSeverity: Severity | null = severities.has('critical') ? 'critical' : severities.has('urgent') ? 'urgent' : severities.has('general') ? 'general' : null;
  return { schoolId, roomId, readiness, reasons, agents: agents.length, online, openFaults: agents.reduce((sum, agent) => sum + agent.openFaultCount, 0), worstSeverity, ...timetable };
}
