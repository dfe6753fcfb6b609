import { z } from 'zod';
import type { Severity } from '../../protocol/index.js';
import { addBusinessTime, type BusinessCalendar, businessTimeBetween } from './business-calendar.js';
import { instantMs } from './local-time.js';
import { parseOrRefuse } from './parse-input.js';

/**
 * Service promises, from shared/domain.md: service promises. Answer within 2 h; urgent (part of
 * teaching blocked) resolved within 8 h; critical (room cannot teach, or many rooms hit) handled
 * at once and resolved within 24 h (longer than urgent, as domain.md has it: such faults tend to
 * need parts or a visit; "at once" is the first response). On-site arrival 48 h in the service point's city, 72 h in other cities.
 * domain.md names no resolution time for general faults; 72 h is avcare's default. Contracts
 * differ ("on-site within 24 h", remote areas by agreement), hence slaPolicySchema.
 */
export const DEFAULT_SLA_POLICY = {
  firstResponseHours: 2,
  resolutionHours: { general: 72, urgent: 8, critical: 24 },
  onSiteArrivalHours: { sameCity: 48, otherCity: 72 },
  nearBreachFraction: 0.8,
  clock: 'business',
} as const;

/** A month: beyond that a promise is not a service level, and business time would take years to count. */
const MAX_TARGET_HOURS = 720;

function targetHours(fallback: number, what: string) {
  return z
    .number({ error: 'must be a number of hours' })
    .positive('must be more than 0 hours')
    .max(MAX_TARGET_HOURS, `must be at most ${MAX_TARGET_HOURS} hours`)
    .default(fallback)
    .describe(`${what}, in hours (> 0, <= ${MAX_TARGET_HOURS})`);
}

/** A contract's or school's promises; every field left out keeps DEFAULT_SLA_POLICY's value. */
export const slaPolicySchema = z.strictObject({
  firstResponseHours: targetHours(DEFAULT_SLA_POLICY.firstResponseHours, 'time to the first answer to the school'),
  resolutionHours: z
    .strictObject({
      general: targetHours(DEFAULT_SLA_POLICY.resolutionHours.general, 'time to resolve a general fault (core functions still usable)'),
      urgent: targetHours(DEFAULT_SLA_POLICY.resolutionHours.urgent, 'time to resolve an urgent fault (part of teaching blocked)'),
      critical: targetHours(DEFAULT_SLA_POLICY.resolutionHours.critical, 'time to resolve a critical fault (room cannot teach, or many rooms)'),
    })
    .prefault({})
    .describe('time to resolve, per severity, always counted from when the ticket was opened'),
  onSiteArrivalHours: z
    .strictObject({
      sameCity: targetHours(DEFAULT_SLA_POLICY.onSiteArrivalHours.sameCity, 'time to arrive on site in the service point\'s city'),
      otherCity: targetHours(DEFAULT_SLA_POLICY.onSiteArrivalHours.otherCity, 'time to arrive on site in another city'),
    })
    .prefault({})
    .describe('time from an on-site request to the engineer\'s arrival'),
  nearBreachFraction: z
    .number({ error: 'must be a fraction of the target' })
    .gt(0, 'must be more than 0')
    .max(1, 'must be at most 1')
    .default(DEFAULT_SLA_POLICY.nearBreachFraction)
    .describe('share of a target after which a running timer is near breach (0 < f <= 1; 1 = no warning before the breach)'),
  clock: z
    .enum(['business', 'calendar'], { error: 'must be "business" or "calendar"' })
    .default(DEFAULT_SLA_POLICY.clock)
    .describe('business: count only the school\'s business hours; calendar: count wall-clock time'),
});

export type SlaPolicy = z.output<typeof slaPolicySchema>;
export type SlaPolicyInput = z.input<typeof slaPolicySchema>;

/** A policy with overrides merged onto the defaults, or an INVALID_ARGUMENT naming each bad field. */
export function parseSlaPolicy(input: unknown): SlaPolicy {
  return parseOrRefuse(slaPolicySchema, input, 'SLA policy');
}

import type { SlaTimerName, SlaTimerState } from '../../protocol/views/ticket-view.js';

export type { SlaTimerName, SlaTimerState };

export interface SlaTimer {
  name: SlaTimerName;
  /** The promise, in the policy's clock (business ms for 'business'). */
  targetMs: number;
  dueAt: Date;
  state: SlaTimerState;
  /** Clock time from start to completion, or to `now` while not done. */
  elapsedMs: number;
  /** targetMs - elapsedMs: the margin left, negative once the target is used up. */
  remainingMs: number;
}

export interface SlaTimers {
  firstResponse: SlaTimer;
  resolution: SlaTimer;
  /** null while no on-site visit was requested. */
  onSite: SlaTimer | null;
}

export interface SlaInput {
  policy: SlaPolicy;
  calendar: BusinessCalendar;
  /** The current severity: after a change the resolution target changes, its start does not. */
  severity: Severity;
  openedAt: Date;
  firstResponseAt?: Date | undefined;
  resolvedAt?: Date | undefined;
  onSite?: { requestedAt: Date; sameCity: boolean; arrivedAt?: Date | undefined } | undefined;
  now: Date;
}

const HOUR_MS = 3_600_000;

/**
 * Where each promise of a ticket stands at `now`. A resolved ticket stops every clock: nothing more
 * is owed once the fault is fixed, so a resolution without a separate answer also answers, and a
 * visit that became unnecessary cannot breach afterwards.
 */
export function slaTimers(input: SlaInput): SlaTimers {
  const { policy, calendar } = input;
  const nowMs = instantMs(input.now, 'now');
  const resolvedMs = input.resolvedAt === undefined ? undefined : instantMs(input.resolvedAt, 'resolvedAt');

  const measure = (fromMs: number, toMs: number): number =>
    policy.clock === 'business' ? businessTimeBetween(calendar, new Date(fromMs), new Date(toMs)) : Math.max(0, toMs - fromMs);
  const dueAfter = (fromMs: number, targetMs: number): Date =>
    policy.clock === 'business' ? addBusinessTime(calendar, new Date(fromMs), targetMs) : new Date(fromMs + targetMs);

  const timer = (name: SlaTimerName, hours: number, startMs: number, doneMs: number | undefined): SlaTimer => {
    // Whole milliseconds, like every instant: 1.1 h is 3960000.0000000005 ms in binary.
    const targetMs = Math.round(hours * HOUR_MS);
    const dueAt = dueAfter(startMs, targetMs);
    const elapsedMs = measure(startMs, doneMs ?? nowMs);
    const nearBreach = elapsedMs >= nearBreachThresholdMs(policy.nearBreachFraction, targetMs);
    const state = stateOf(dueAt.getTime(), doneMs, nowMs, nearBreach);
    return { name, targetMs, dueAt, state, elapsedMs, remainingMs: targetMs - elapsedMs };
  };

  const openedMs = instantMs(input.openedAt, 'openedAt');
  const firstResponseMs = input.firstResponseAt === undefined ? undefined : instantMs(input.firstResponseAt, 'firstResponseAt');
  const { onSite } = input;
  return {
    firstResponse: timer('first-response', policy.firstResponseHours, openedMs, firstResponseMs ?? resolvedMs),
    resolution: timer('resolution', policy.resolutionHours[input.severity], openedMs, resolvedMs),
    onSite:
      onSite === undefined
        ? null
        : timer(
            'on-site',
            onSite.sameCity ? policy.onSiteArrivalHours.sameCity : policy.onSiteArrivalHours.otherCity,
            instantMs(onSite.requestedAt, 'onSite.requestedAt'),
            onSite.arrivedAt === undefined ? resolvedMs : instantMs(onSite.arrivedAt, 'onSite.arrivedAt'),
          ),
  };
}

/**
 * The share of a target as whole milliseconds, the unit of every elapsed time. The float noise goes
 * first: 0.07 x 1 h is 252000.00000000003 in binary, and must warn at 252000 ms, not a ms late.
 */
function nearBreachThresholdMs(fraction: number, targetMs: number): number {
  return Math.ceil(fraction * targetMs - 1e-6);
}

/** Done exactly at the due instant is on time; so is a running timer until that instant has passed. */
function stateOf(dueMs: number, doneMs: number | undefined, nowMs: number, nearBreach: boolean): SlaTimerState {
  if (doneMs !== undefined) return doneMs <= dueMs ? 'met' : 'missed';
  if (nowMs > dueMs) return 'breached';
  return nearBreach ? 'near-breach' : 'running';
}

export interface SlaEscalation {
  /** The timer as it stands in the later evaluation. */
  timer: SlaTimer;
  kind: 'near-breach' | 'breach';
}

/**
 * How alarming each state is. A timer done late ('missed') sits with 'breached' so that reopening
 * a ticket whose lateness is already on record raises nothing new; one done in time ('met') sits
 * with 'running', so a reopened ticket that then runs late is escalated again.
 */
const ALARM_LEVEL: Record<SlaTimerState, number> = { running: 0, met: 0, 'near-breach': 1, breached: 2, missed: 2 };

/**
 * The escalations that happened between two evaluations of the same ticket: a timer that rose
 * into near-breach or breached. A timer that skipped from running straight to breached gives one
 * 'breach' and no 'near-breach'; a timer completed late between the two gives none (its state is
 * 'missed', and there is nobody left to hurry). So a caller that evaluates periodically and keeps
 * the previous result raises each escalation exactly once.
 */
export function slaEscalations(before: SlaTimers, after: SlaTimers): SlaEscalation[] {
  const previous = new Map(timersOf(before).map((timer) => [timer.name, timer.state]));
  const escalations: SlaEscalation[] = [];
  for (const timer of timersOf(after)) {
    if (timer.state !== 'near-breach' && timer.state !== 'breached') continue;
    // A timer absent before (an on-site visit requested since) starts from running.
    if (ALARM_LEVEL[timer.state] > ALARM_LEVEL[previous.get(timer.name) ?? 'running']) {
      escalations.push({ timer, kind: timer.state === 'breached' ? 'breach' : 'near-breach' });
    }
  }
  return escalations;
}

function timersOf(timers: SlaTimers): SlaTimer[] {
  return timers.onSite === null ? [timers.firstResponse, timers.resolution] : [timers.firstResponse, timers.resolution, timers.onSite];
}
