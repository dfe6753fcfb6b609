import type { DateTime } from 'luxon';
import { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';
import {
  type ClockPeriod,
  clockTimeSchema,
  dateKey,
  checkExtraWorkdays,
  instantMs,
  isoDateSchema,
  localDayOf,
  overlapProblems,
  spansOn,
  startsBeforeEnds,
  timeZoneSchema,
} from './local-time.js';
import { parseOrRefuse } from './parse-input.js';

/**
 * When a school counts as open for service: the hours the SLA clock runs in. Pure time arithmetic;
 * every instant is a parameter, and luxon does all zone and DST work.
 */

const openingPeriodSchema = z
  .strictObject({
    start: clockTimeSchema.describe('opening time HH:MM'),
    end: clockTimeSchema.describe('closing time HH:MM; 24:00 = midnight'),
  })
  .refine(startsBeforeEnds, { error: 'start must be before end', path: ['end'] });

const openingHoursSchema = z
  .array(openingPeriodSchema)
  .superRefine((periods, context) => {
    for (const { index, message } of overlapProblems(periods)) context.addIssue({ code: 'custom', path: [index], message });
  })
  .describe('opening periods of one day, [] = closed');

/** The usual school day; a school that opens earlier or on Saturday overrides its weekdays. */
const SCHOOL_DAY: readonly ClockPeriod[] = [{ start: '07:30', end: '17:30' }];

function weekdayHours(weekday: string, fallback: readonly ClockPeriod[]) {
  return openingHoursSchema.default(() => fallback.map((period) => ({ ...period }))).describe(`${weekday} opening hours; [] = closed`);
}

const weeklyHoursSchema = z
  .strictObject({
    '1': weekdayHours('Monday', SCHOOL_DAY),
    '2': weekdayHours('Tuesday', SCHOOL_DAY),
    '3': weekdayHours('Wednesday', SCHOOL_DAY),
    '4': weekdayHours('Thursday', SCHOOL_DAY),
    '5': weekdayHours('Friday', SCHOOL_DAY),
    '6': weekdayHours('Saturday', []),
    '7': weekdayHours('Sunday', []),
  })
  .prefault({})
  .describe('opening hours per ISO weekday (1 = Monday ... 7 = Sunday); a weekday left out keeps its default, Mon-Fri 07:30-17:30, Sat-Sun closed');

export const businessCalendarSchema = z
  .strictObject({
    timeZone: timeZoneSchema,
    weeklyHours: weeklyHoursSchema,
    holidays: z.array(isoDateSchema).default(() => []).describe('dates with no business hours: public holidays, vacations'),
    extraWorkdays: z
      .array(
        z.strictObject({
          date: isoDateSchema,
          hours: openingHoursSchema.optional().describe('hours of that day; default: the Monday hours'),
        }),
      )
      .default(() => [])
      .describe('调休: days worked although their weekday is closed, e.g. the Saturday before National Day'),
  })
  .superRefine(checkExtraWorkdays);

export type BusinessCalendar = z.output<typeof businessCalendarSchema>;
export type BusinessCalendarInput = z.input<typeof businessCalendarSchema>;

/** A school's calendar from its settings, or an INVALID_ARGUMENT naming each bad field. */
export function parseBusinessCalendar(input: unknown): BusinessCalendar {
  return parseOrRefuse(businessCalendarSchema, input, 'business calendar');
}

/**
 * How far ahead addBusinessTime looks before giving up. A school's longest closure is the summer
 * vacation, about two months; two years is far beyond any service promise and still bounds the
 * work for a calendar that never opens again (its last extra workday already past).
 */
const SEARCH_HORIZON_DAYS = 2 * 366;
const HOUR_MS = 3_600_000;

type Span = { start: number; end: number };

/** The open spans of any local day, with the holiday and extra-workday look-ups built once. */
function businessSpans(calendar: BusinessCalendar): (day: DateTime<true>) => Span[] {
  const holidays = new Set(calendar.holidays);
  const extraWorkdays = new Map(calendar.extraWorkdays.map(({ date, hours }) => [date, hours ?? calendar.weeklyHours['1']]));
  return (day) => {
    const date = dateKey(day);
    if (holidays.has(date)) return [];
    const weekday: keyof BusinessCalendar['weeklyHours'] = `${day.weekday}`;
    return spansOn(day, extraWorkdays.get(date) ?? calendar.weeklyHours[weekday]);
  };
}

function hasAnyBusinessHours(calendar: BusinessCalendar): boolean {
  return (
    Object.values(calendar.weeklyHours).some((periods) => periods.length > 0) ||
    calendar.extraWorkdays.some(({ hours }) => (hours ?? calendar.weeklyHours['1']).length > 0)
  );
}

export function isBusinessTime(calendar: BusinessCalendar, at: Date): boolean {
  const atMs = instantMs(at, 'at');
  const spans = businessSpans(calendar)(localDayOf(atMs, calendar.timeZone));
  return spans.some((span) => span.start <= atMs && atMs < span.end);
}

/**
 * The instant at which `ms` of business time has passed since `from`. Outside hours the count
 * starts at the next opening; a count that runs out exactly at a closing time ends there (Friday
 * 17:30), not at the next opening. Zero business time after `from` is `from` itself. Walks day by
 * day and period by period, so 72 hours costs a dozen steps, not thousands of minutes.
 */
export function addBusinessTime(calendar: BusinessCalendar, from: Date, ms: number): Date {
  const fromMs = instantMs(from, 'from');
  if (!Number.isFinite(ms) || ms < 0) {
    throw new AvcareError('INVALID_ARGUMENT', 'business time to add must be a number of milliseconds >= 0', { ms });
  }
  if (ms === 0) return new Date(fromMs);
  if (!hasAnyBusinessHours(calendar)) {
    throw new AvcareError('INVALID_ARGUMENT', 'business calendar has no business hours: every weekday is closed and no extra workday has hours', {});
  }
  const spansOf = businessSpans(calendar);
  let remaining = ms;
  let day = localDayOf(fromMs, calendar.timeZone);
  for (let scanned = 0; scanned < SEARCH_HORIZON_DAYS; scanned++, day = day.plus({ days: 1 })) {
    for (const span of spansOf(day)) {
      const start = Math.max(span.start, fromMs);
      if (start >= span.end) continue;
      if (remaining <= span.end - start) return new Date(start + remaining);
      remaining -= span.end - start;
    }
  }
  throw new AvcareError(
    'INVALID_ARGUMENT',
    `${ms / HOUR_MS} h of business time does not fit in the ${SEARCH_HORIZON_DAYS} days after ${new Date(fromMs).toISOString()}: the business calendar opens too rarely`,
    { ms, from: new Date(fromMs).toISOString() },
  );
}

/** Business time in [from, to), in ms; 0 when `to` is not after `from`. */
export function businessTimeBetween(calendar: BusinessCalendar, from: Date, to: Date): number {
  const fromMs = instantMs(from, 'from');
  const toMs = instantMs(to, 'to');
  if (toMs <= fromMs) return 0;
  const spansOf = businessSpans(calendar);
  let total = 0;
  for (let day = localDayOf(fromMs, calendar.timeZone); day.toMillis() < toMs; day = day.plus({ days: 1 })) {
    for (const span of spansOf(day)) total += Math.max(0, Math.min(span.end, toMs) - Math.max(span.start, fromMs));
  }
  return total;
}
