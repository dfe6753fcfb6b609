import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type FaultMessage } from '../../protocol/index.js';
import { applyFaultEvent, faultDeviceKey } from './fault-state.js';

const at = (minute: number) => Date.parse('2025-03-03T08:00:00.000Z') + minute * 60_000;

function fault(state: FaultMessage['state'], minute: number, overrides: Partial<FaultMessage> = {}): FaultMessage {
  return {
    schemaVersion: SCHEMA_VERSION,
    eventId: `00000000-0000-4000-8000-${String(minute).padStart(12, '0')}`,
    agentId: 'pc-01',
    schoolId: 'sch-1',
    roomId: 'r101',
    at: new Date(at(minute)).toISOString(),
    type: 'fault',
    state,
    code: 'DEVICE_MISSING',
    category: 'hardware',
    severity: 'urgent',
    deviceId: 'expected:usb:camera',
    message: 'front camera is missing',
    evidence: {},
    firstSeenAt: new Date(at(minute)).toISOString(),
    ...overrides,
  };
}

function apply(events: FaultMessage[]) {
  return events.reduce<ReturnType<typeof applyFaultEvent>>((state, event) => applyFaultEvent(state, event, Date.parse(event.at)), undefined);
}

describe('applyFaultEvent', () => {
  it('a raise while open keeps when the episode began and takes the new details', () => {
    const first = fault('raised', 1, { firstSeenAt: new Date(at(0)).toISOString() });
    const state = apply([first, fault('raised', 2, { severity: 'critical', message: 'still missing' })]);
    expect(state).toMatchObject({ state: 'raised', raisedAt: at(1), firstSeenAt: at(0), changedAt: at(2), eventId: first.eventId, severity: 'critical', message: 'still missing' });
  });

  it('a raise after a clear starts a new episode', () => {
    const reopen = fault('raised', 3);
    expect(apply([fault('raised', 1), fault('cleared', 2), reopen])).toMatchObject({ state: 'raised', raisedAt: at(3), eventId: reopen.eventId });
  });

  it('an event not newer than the stored state returns the stored state itself', () => {
    const open = apply([fault('raised', 5)]);
    expect(applyFaultEvent(open, fault('cleared', 4), at(4))).toBe(open);
    expect(applyFaultEvent(open, fault('cleared', 5), at(5))).toBe(open);
  });

  it('a clear seen first leaves a tombstone that an older raise cannot reopen', () => {
    const tombstone = apply([fault('cleared', 5)]);
    expect(tombstone).toMatchObject({ state: 'cleared', changedAt: at(5) });
    expect(applyFaultEvent(tombstone, fault('raised', 4), at(4))).toBe(tombstone);
  });
});

describe('faultDeviceKey', () => {
  it('keeps null, the empty string and ids holding NUL distinct and free of NUL', () => {
    const keys = [null, '', 'a', 'a\u0000', '"a"'].map(faultDeviceKey);
    expect(new Set(keys).size).toBe(5);
    expect(keys.some((key) => key.includes('\u0000'))).toBe(false);
  });
});
