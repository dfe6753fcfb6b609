import { describe, expect, it } from 'vitest';
import type { AgentSummary } from '../store/store.js';
import { roomReadiness } from './room-readiness.js';

function pc(id: string, state: AgentSummary['state'], worstSeverity: AgentSummary['worstSeverity'] = null): AgentSummary {
  const at = '2026-12-07T08:00:00.000Z';
  return { id: `sch-1:${id}`, agentId: id, schoolId: 'sch-1', roomId: 'r101', state, stateReason: null, stateChangedAt: at, lastSeenAt: at, agentVersion: '0.1.0', deviceCount: 3, openFaultCount: worstSeverity ? 1 : 0, worstSeverity, lastNetwork: null, lastAvSync: null };
}

describe('whether a room can teach now', () => {
  it('is ready with every PC online and no open fault', () => {
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online'), pc('b', 'online')])).toMatchObject({ readiness: 'ready', reasons: [], online: 2, agents: 2, worstSeverity: null });
  });

  it('is down when no PC answers or a critical fault is open, whatever else holds', () => {
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'offline'), pc('b', 'unknown')])).toMatchObject({ readiness: 'down', reasons: ['no-agent-online'] });
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online', 'critical'), pc('b', 'online', 'general')])).toMatchObject({ readiness: 'down', reasons: ['critical-fault', 'general-fault'], worstSeverity: 'critical', openFaults: 2 });
  });

  it('is degraded with an urgent or general fault, or one of several PCs offline', () => {
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online', 'urgent')])).toMatchObject({ readiness: 'degraded', reasons: ['urgent-fault'], worstSeverity: 'urgent' });
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online'), pc('b', 'offline')])).toMatchObject({ readiness: 'degraded', reasons: ['some-agents-offline'] });
  });

  it('carries the timetable it was given: the lesson now and the week', () => {
    const lessons = [{ weekday: 1, start: '08:00', end: '08:45' }];
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online')], { teaching: { inLesson: true, minutesToNextLesson: null }, lessons })).toMatchObject({ teaching: { inLesson: true }, lessons });
    expect(roomReadiness('sch-1', 'r101', [pc('a', 'online')])).toMatchObject({ teaching: null, lessons: [] });
  });
});
