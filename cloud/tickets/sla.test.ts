import { describe, expect, it } from 'vitest';
import { AvcareError, type Severity } from '../../protocol/index.js';
import { parseBusinessCalendar } from './business-calendar.js';
import { DEFAULT_SLA_POLICY, parseSlaPolicy, type SlaInput, slaEscalations, type SlaTimer, slaTimers } from './sla.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const beijing = (local: string) => new Date(`${local}+08:00`);

const calendar = parseBusinessCalendar({});
const businessPolicy = parseSlaPolicy({});
const calendarPolicy = parseSlaPolicy({ clock: 'calendar' });

/** A ticket opened Monday 17 March 2025 09:00 Beijing time; each test changes what it is about. */
function timersAt(now: string, changes: Partial<Omit<SlaInput, 'now'>> = {}) {
  return slaTimers({ policy: businessPolicy, calendar, severity: 'urgent', openedAt: beijing('2025-03-17T09:00'), ...changes, now: beijing(now) });
}

function summary(timer: SlaTimer) {
  return { state: timer.state, dueAt: timer.dueAt.toISOString(), elapsedHours: timer.elapsedMs / HOUR, remainingHours: timer.remainingMs / HOUR };
}

function refusal(input: unknown): AvcareError {
  try {
    parseSlaPolicy(input);
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('the policy was accepted');
}

describe('slaPolicySchema', () => {
  it('defaults to the service promises of shared/domain.md', () => {
    expect(parseSlaPolicy({})).toEqual(DEFAULT_SLA_POLICY);
    expect(DEFAULT_SLA_POLICY).toEqual({
      firstResponseHours: 2,
      resolutionHours: { general: 72, urgent: 8, critical: 24 },
      onSiteArrivalHours: { sameCity: 48, otherCity: 72 },
      nearBreachFraction: 0.8,
      clock: 'business',
    });
  });

  it('merges a partial override onto the defaults', () => {
    const policy = parseSlaPolicy({ resolutionHours: { general: 48 }, onSiteArrivalHours: { sameCity: 24 }, clock: 'calendar' });
    expect(policy.resolutionHours).toEqual({ general: 48, urgent: 8, critical: 24 });
    expect(policy.onSiteArrivalHours).toEqual({ sameCity: 24, otherCity: 72 });
    expect(policy.firstResponseHours).toBe(2);
    expect(policy.nearBreachFraction).toBe(0.8);
    expect(policy.clock).toBe('calendar');
  });

  it('refuses bad values with a message naming the field', () => {
    const error = refusal({
      firstResponseHours: '2',
      resolutionHours: { urgent: -1 },
      onSiteArrivalHours: { otherCity: 1000 },
      nearBreachFraction: 0,
      clock: 'wall',
    });
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^invalid SLA policy: /);
    expect(error.message).toContain('firstResponseHours: must be a number of hours');
    expect(error.message).toContain('resolutionHours.urgent: must be more than 0 hours');
    expect(error.message).toContain('onSiteArrivalHours.otherCity: must be at most 720 hours');
    expect(error.message).toContain('nearBreachFraction: must be more than 0');
    expect(error.message).toContain('clock: must be "business" or "calendar"');
    expect(refusal({ nearBreachFraction: 1.5 }).message).toContain('nearBreachFraction: must be at most 1');
  });

  it('refuses unknown fields, so a misspelt override is not silently ignored', () => {
    expect(refusal({ resolutionHours: { severe: 4 } }).message).toContain('resolutionHours: Unrecognized key: "severe"');
    expect(refusal({ firstResponseHour: 1 }).message).toContain('SLA policy: Unrecognized key: "firstResponseHour"');
  });
});

describe('slaTimers', () => {
  it('runs the first-response and resolution timers from the opening, without on-site until requested', () => {
    const timers = timersAt('2025-03-17T10:00');
    expect(timers.firstResponse).toEqual({
      name: 'first-response',
      targetMs: 2 * HOUR,
      dueAt: beijing('2025-03-17T11:00'),
      state: 'running',
      elapsedMs: HOUR,
      remainingMs: HOUR,
    });
    expect(timers.resolution).toEqual({
      name: 'resolution',
      targetMs: 8 * HOUR,
      dueAt: beijing('2025-03-17T17:00'),
      state: 'running',
      elapsedMs: HOUR,
      remainingMs: 7 * HOUR,
    });
    expect(timers.onSite).toBeNull();
  });

  it('is near breach from the near-breach share of the target until the due instant', () => {
    expect(timersAt('2025-03-17T10:35:59.999').firstResponse.state).toBe('running');
    expect(timersAt('2025-03-17T10:36').firstResponse.state).toBe('near-breach');
    const atDue = timersAt('2025-03-17T11:00').firstResponse;
    expect(atDue.state).toBe('near-breach');
    expect(atDue.remainingMs).toBe(0);
  });

  it('is breached once the due instant has passed, with a negative remaining time', () => {
    const late = timersAt('2025-03-17T11:00:00.001').firstResponse;
    expect(late.state).toBe('breached');
    expect(late.remainingMs).toBe(-1);
    expect(summary(timersAt('2025-03-17T12:30').firstResponse)).toMatchObject({ state: 'breached', elapsedHours: 3.5, remainingHours: -1.5 });
  });

  it('keeps targets in whole milliseconds whatever the hours', () => {
    const policy = parseSlaPolicy({ firstResponseHours: 1.1 });
    const timer = timersAt('2025-03-17T10:00', { policy }).firstResponse;
    expect(timer.targetMs).toBe(3_960_000);
    expect(timer.dueAt).toEqual(beijing('2025-03-17T10:06'));
  });

  it('takes the near-breach share from the policy', () => {
    const policy = parseSlaPolicy({ firstResponseHours: 1, nearBreachFraction: 0.5 });
    expect(timersAt('2025-03-17T09:29', { policy }).firstResponse.state).toBe('running');
    expect(summary(timersAt('2025-03-17T09:30', { policy }).firstResponse)).toEqual({
      state: 'near-breach',
      dueAt: beijing('2025-03-17T10:00').toISOString(),
      elapsedHours: 0.5,
      remainingHours: 0.5,
    });
  });

  it('is met when done at or before due and missed when done after, measured to completion', () => {
    const onTime = timersAt('2025-03-18T10:00', { firstResponseAt: beijing('2025-03-17T10:30') }).firstResponse;
    expect(summary(onTime)).toMatchObject({ state: 'met', elapsedHours: 1.5, remainingHours: 0.5 });
    expect(timersAt('2025-03-18T10:00', { firstResponseAt: beijing('2025-03-17T11:00') }).firstResponse.state).toBe('met');
    const late = timersAt('2025-03-18T10:00', { firstResponseAt: beijing('2025-03-17T11:30') }).firstResponse;
    expect(summary(late)).toMatchObject({ state: 'missed', elapsedHours: 2.5, remainingHours: -0.5 });
  });

  it('counts an answer after closing time as on time if the business time is not used up', () => {
    const openedAt = beijing('2025-03-17T16:00');
    const answeredAtNight = timersAt('2025-03-18T10:00', { openedAt, firstResponseAt: beijing('2025-03-17T20:00') }).firstResponse;
    expect(summary(answeredAtNight)).toEqual({ state: 'met', dueAt: beijing('2025-03-18T08:00').toISOString(), elapsedHours: 1.5, remainingHours: 0.5 });
    expect(timersAt('2025-03-18T10:00', { openedAt, firstResponseAt: beijing('2025-03-18T08:15') }).firstResponse.state).toBe('missed');
  });

  it('counts an answer after the due closing time as missed although no more business time passed', () => {
    const late = timersAt('2025-03-18T10:00', { openedAt: beijing('2025-03-17T15:30'), firstResponseAt: beijing('2025-03-17T18:00') }).firstResponse;
    expect(summary(late)).toEqual({ state: 'missed', dueAt: beijing('2025-03-17T17:30').toISOString(), elapsedHours: 2, remainingHours: 0 });
  });

  it('stops the business clock over the weekend', () => {
    const friday = { openedAt: beijing('2025-03-21T16:30') };
    const timers = timersAt('2025-03-22T12:00', friday);
    expect(summary(timers.resolution)).toEqual({ state: 'running', dueAt: beijing('2025-03-24T14:30').toISOString(), elapsedHours: 1, remainingHours: 7 });
    expect(summary(timers.firstResponse)).toEqual({ state: 'running', dueAt: beijing('2025-03-24T08:30').toISOString(), elapsedHours: 1, remainingHours: 1 });
  });

  it('runs through the weekend on the calendar clock', () => {
    const timers = timersAt('2025-03-22T12:00', { openedAt: beijing('2025-03-21T16:30'), policy: calendarPolicy });
    expect(summary(timers.resolution)).toEqual({ state: 'breached', dueAt: beijing('2025-03-22T00:30').toISOString(), elapsedHours: 19.5, remainingHours: -11.5 });
    expect(summary(timers.firstResponse)).toMatchObject({ state: 'breached', dueAt: beijing('2025-03-21T18:30').toISOString() });
  });

  it('gives a general fault 72 business hours, spanning a weekend', () => {
    const timers = timersAt('2025-03-24T10:00', { severity: 'general', openedAt: beijing('2025-03-14T08:00') });
    expect(summary(timers.resolution)).toEqual({ state: 'near-breach', dueAt: beijing('2025-03-25T10:00').toISOString(), elapsedHours: 62, remainingHours: 10 });
  });

  it('measures resolution from the opening whatever the current severity', () => {
    const expectations: Array<[Severity, string, string]> = [
      ['general', 'running', '2025-03-26T11:00'],
      ['urgent', 'breached', '2025-03-17T17:00'],
      ['critical', 'running', '2025-03-19T13:00'],
    ];
    for (const [severity, state, due] of expectations) {
      const resolution = timersAt('2025-03-18T10:00', { severity }).resolution;
      expect(summary(resolution)).toMatchObject({ state, dueAt: beijing(due).toISOString(), elapsedHours: 11 });
    }
  });

  it('gives on-site arrival 48 business hours in the same city and 72 in another, from the request', () => {
    const requestedAt = beijing('2025-03-17T09:00');
    const sameCity = timersAt('2025-03-18T10:00', { onSite: { requestedAt, sameCity: true } }).onSite;
    expect(sameCity && summary(sameCity)).toEqual({ state: 'running', dueAt: beijing('2025-03-21T17:00').toISOString(), elapsedHours: 11, remainingHours: 37 });
    const otherCity = timersAt('2025-03-18T10:00', { onSite: { requestedAt, sameCity: false, arrivedAt: beijing('2025-03-20T10:00') } }).onSite;
    expect(otherCity && summary(otherCity)).toEqual({ state: 'met', dueAt: beijing('2025-03-26T11:00').toISOString(), elapsedHours: 31, remainingHours: 41 });
    expect(otherCity?.name).toBe('on-site');
    expect(otherCity?.targetMs).toBe(72 * HOUR);
  });

  it('stops every timer when the ticket is resolved', () => {
    const timers = timersAt('2025-03-24T10:00', {
      resolvedAt: beijing('2025-03-17T10:00'),
      onSite: { requestedAt: beijing('2025-03-17T09:30'), sameCity: true },
    });
    expect(summary(timers.resolution)).toMatchObject({ state: 'met', elapsedHours: 1 });
    expect(summary(timers.firstResponse)).toMatchObject({ state: 'met', elapsedHours: 1 });
    expect(timers.onSite && summary(timers.onSite)).toMatchObject({ state: 'met', elapsedHours: 0.5 });
  });

  it('refuses invalid dates, naming the input', () => {
    expect(() => timersAt('2025-03-17T10:00', { resolvedAt: new Date('soon') })).toThrow(/resolvedAt must be a valid date/);
    expect(() => slaTimers({ policy: businessPolicy, calendar, severity: 'general', openedAt: beijing('2025-03-17T09:00'), now: new Date(Number.NaN) })).toThrow(
      /now must be a valid date/,
    );
  });
});

describe('slaEscalations', () => {
  const kinds = (before: ReturnType<typeof timersAt>, after: ReturnType<typeof timersAt>) =>
    slaEscalations(before, after).map(({ timer, kind }) => [timer.name, kind]);

  it('raises near-breach when a running timer crosses its near-breach share, once', () => {
    expect(kinds(timersAt('2025-03-17T10:00'), timersAt('2025-03-17T10:40'))).toEqual([['first-response', 'near-breach']]);
    expect(kinds(timersAt('2025-03-17T10:40'), timersAt('2025-03-17T10:50'))).toEqual([]);
  });

  it('raises breach when a near-breach timer passes due, once', () => {
    expect(kinds(timersAt('2025-03-17T10:40'), timersAt('2025-03-17T11:10'))).toEqual([['first-response', 'breach']]);
    expect(kinds(timersAt('2025-03-17T11:10'), timersAt('2025-03-17T11:20'))).toEqual([]);
  });

  it('raises only breach for a timer that skipped from running to breached', () => {
    expect(kinds(timersAt('2025-03-17T10:00'), timersAt('2025-03-17T11:10'))).toEqual([['first-response', 'breach']]);
  });

  it('hands over the timer as it stands after the change', () => {
    const [escalation] = slaEscalations(timersAt('2025-03-17T10:00'), timersAt('2025-03-17T11:10'));
    expect(escalation?.timer.dueAt).toEqual(beijing('2025-03-17T11:00'));
    expect(escalation?.timer.remainingMs).toBe(-10 * MINUTE);
  });

  it('raises nothing for a timer completed late between two evaluations', () => {
    const answeredLate = { firstResponseAt: beijing('2025-03-17T11:30') };
    expect(kinds(timersAt('2025-03-17T10:00'), timersAt('2025-03-17T12:00', answeredLate))).toEqual([]);
  });

  it('raises breach when raising the severity makes the resolution overdue', () => {
    const answered = { firstResponseAt: beijing('2025-03-17T09:30') };
    const before = timersAt('2025-03-18T10:00', { ...answered, severity: 'general' });
    const after = timersAt('2025-03-18T10:10', { ...answered, severity: 'urgent' });
    expect(kinds(before, after)).toEqual([['resolution', 'breach']]);
  });

  it('raises again for a reopened ticket that had been resolved in time, not for one already late', () => {
    const answered = { firstResponseAt: beijing('2025-03-17T09:30') };
    const resolvedInTime = timersAt('2025-03-17T12:00', { ...answered, resolvedAt: beijing('2025-03-17T12:00') });
    const resolvedLate = timersAt('2025-03-17T18:00', { ...answered, resolvedAt: beijing('2025-03-17T18:00') });
    const reopened = timersAt('2025-03-18T10:00', answered);
    expect(resolvedInTime.resolution.state).toBe('met');
    expect(resolvedLate.resolution.state).toBe('missed');
    expect(reopened.resolution.state).toBe('breached');
    expect(kinds(resolvedInTime, reopened)).toEqual([['resolution', 'breach']]);
    expect(kinds(resolvedLate, reopened)).toEqual([]);
  });

  it('raises for an on-site timer that appears already overdue', () => {
    const onSite = { requestedAt: beijing('2025-03-17T09:00'), sameCity: true };
    const answered = { firstResponseAt: beijing('2025-03-17T09:30'), severity: 'general' as const };
    expect(kinds(timersAt('2025-03-24T10:00', answered), timersAt('2025-03-24T10:00', { ...answered, onSite }))).toEqual([['on-site', 'breach']]);
  });

  it('raises each escalation exactly once when evaluated every ten minutes', () => {
    const raised: Array<[string, string, string]> = [];
    let previous = timersAt('2025-03-17T09:00');
    for (let minute = 10; minute <= 27 * 60; minute += 10) {
      const now = new Date(beijing('2025-03-17T09:00').getTime() + minute * MINUTE);
      const current = slaTimers({ policy: businessPolicy, calendar, severity: 'urgent', openedAt: beijing('2025-03-17T09:00'), now });
      for (const { timer, kind } of slaEscalations(previous, current)) raised.push([timer.name, kind, now.toISOString()]);
      previous = current;
    }
    // Near breach at 0.8 x 2 h = 10:36 and 0.8 x 8 h = 15:24; due 11:00 and 17:00: each seen at the next tick.
    expect(raised).toEqual([
      ['first-response', 'near-breach', beijing('2025-03-17T10:40').toISOString()],
      ['first-response', 'breach', beijing('2025-03-17T11:10').toISOString()],
      ['resolution', 'near-breach', beijing('2025-03-17T15:30').toISOString()],
      ['resolution', 'breach', beijing('2025-03-17T17:10').toISOString()],
    ]);
  });
});
