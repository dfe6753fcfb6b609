import { DateTime, Info } from 'luxon';
import { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';

/**
 * School time: wall-clock times ('07:30'), dates ('2025-10-01') and the zone that turns them into
 * instants. The schemas and the conversion live here so the business calendar and the timetable
 * read 'HH:MM' and 'YYYY-MM-DD' the same way and leave every offset and DST rule to luxon.
 */

/** Chinese schools keep Beijing time whatever their longitude. */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export const timeZoneSchema = z
  .string()
  .refine((zone) => Info.isValidIANAZone(zone), { error: 'must be an IANA time zone name such as Asia/Shanghai' })
  .default(DEFAULT_TIME_ZONE)
  .describe('IANA time zone the school\'s clock times and dates are read in');

const CLOCK_TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|24:00)$/;
const MINUTES_PER_DAY = 24 * 60;

/** Minutes after local midnight, or NaN for a string that is not HH:MM (the schema reports it). */
export function minutesOfDay(clockTime: string): number {
  const match = CLOCK_TIME.exec(clockTime);
  if (!match) return Number.NaN;
  if (clockTime === '24:00') return MINUTES_PER_DAY;
  return Number(match[1]) * 60 + Number(match[2]);
}

/** '24:00' is allowed so a period can run to midnight; 'start before end' keeps it an end only. */
export const clockTimeSchema = z
  .string()
  .regex(CLOCK_TIME, 'must be a 24-hour local time HH:MM from 00:00 to 24:00')
  .describe('local wall-clock time HH:MM');

export const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((date) => DateTime.fromISO(date, { zone: 'utc' }).isValid, { error: 'must be a real calendar date' })
  .describe('local calendar date YYYY-MM-DD');

const NOT_A_WEEKDAY = 'must be an ISO weekday number: 1 = Monday ... 7 = Sunday';

export const isoWeekdaySchema = z
  .number({ error: NOT_A_WEEKDAY })
  .int(NOT_A_WEEKDAY)
  .min(1, NOT_A_WEEKDAY)
  .max(7, NOT_A_WEEKDAY)
  .describe('ISO weekday: 1 = Monday ... 7 = Sunday');

/** A local period of one day, start included, end excluded. */
export interface ClockPeriod {
  start: string;
  end: string;
}

/** Refinement shared by every { start, end } schema: a period that ends before it starts is a typo. */
export function startsBeforeEnds(period: ClockPeriod): boolean {
  const start = minutesOfDay(period.start);
  const end = minutesOfDay(period.end);
  // A malformed time already has its own issue; do not add a second, confusing one.
  return Number.isNaN(start) || Number.isNaN(end) || start < end;
}

/**
 * Periods that overlap an earlier one of the same day, as issues for a schema to report by index;
 * `dayOf` groups a list that spans several weekdays. Touching ends are fine (08:00-12:00 then
 * 12:00-14:00); overlaps would count the shared time twice.
 */
export function overlapProblems<Period extends ClockPeriod>(
  periods: readonly Period[],
  dayOf: (period: Period) => number = () => 0,
): Array<{ index: number; message: string }> {
  const ordered = periods
    .map((period, index) => ({ period, index, day: dayOf(period), start: minutesOfDay(period.start), end: minutesOfDay(period.end) }))
    .filter((entry) => !Number.isNaN(entry.start) && !Number.isNaN(entry.end))
    .sort((a, b) => a.day - b.day || a.start - b.start);
  const problems: Array<{ index: number; message: string }> = [];
  let latest: (typeof ordered)[number] | undefined;
  for (const entry of ordered) {
    if (latest?.day === entry.day && entry.start < latest.end) {
      const { period } = entry;
      problems.push({ index: entry.index, message: `${period.start}-${period.end} overlaps ${latest.period.start}-${latest.period.end}` });
    }
    // Keep the period that reaches furthest, so one long period catches every short one inside it.
    if (latest?.day !== entry.day || entry.end > latest.end) latest = entry;
  }
  return problems;
}

/**
 * A superRefine for a schema with `holidays` and `extraWorkdays` (a business calendar, a
 * timetable): an extra workday that is also a holiday, or listed twice, is an issue at its index.
 * A day that is both off and worked has no meaning to guess.
 */
export function checkExtraWorkdays(value: { holidays: readonly string[]; extraWorkdays: ReadonlyArray<{ date: string }> }, context: z.RefinementCtx): void {
  const off = new Set(value.holidays);
  const seen = new Set<string>();
  value.extraWorkdays.forEach(({ date }, index) => {
    const path = ['extraWorkdays', index, 'date'];
    if (off.has(date)) context.addIssue({ code: 'custom', path, message: `${date} is also listed in holidays; a day is either off or worked` });
    if (seen.has(date)) context.addIssue({ code: 'custom', path, message: `${date} is listed twice` });
    seen.add(date);
  });
}

/** A validated instant in epoch ms; `name` is the argument's name for the error message. */
export function instantMs(at: Date, name: string): number {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new AvcareError('INVALID_ARGUMENT', `${name} must be a valid date`, { [name]: String(at) });
  return ms;
}

/** Local midnight of the date `ms` falls on in `zone`. */
export function localDayOf(ms: number, zone: string): DateTime<true> {
  const day = DateTime.fromMillis(ms, { zone }).startOf('day');
  if (!day.isValid) throw new AvcareError('INVALID_ARGUMENT', `cannot read ${new Date(ms).toISOString()} in time zone ${zone}`, { zone });
  return day;
}

/** 'YYYY-MM-DD' of a local day, the form holidays and extra workdays are written in. */
export function dateKey(day: DateTime<true>): string {
  return day.toFormat('yyyy-MM-dd');
}

/**
 * The instant a local clock time happens on a local day. luxon resolves the DST cases: a time in
 * the spring-forward gap moves forward by the gap, and '24:00' is the next local midnight, so a
 * period 00:00-24:00 lasts 23 or 25 hours on a change day, as the wall clock does.
 */
export function instantOn(day: DateTime<true>, clockTime: string): number {
  const minutes = minutesOfDay(clockTime);
  if (minutes === MINUTES_PER_DAY) return day.plus({ days: 1 }).toMillis();
  return day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis();
}

/** Half-open spans [start, end) in epoch ms for a day's periods, in order and without overlap. */
export function spansOn(day: DateTime<true>, periods: readonly ClockPeriod[]): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  const ordered = [...periods].sort((a, b) => minutesOfDay(a.start) - minutesOfDay(b.start));
  let previousEnd = Number.NEGATIVE_INFINITY;
  for (const period of ordered) {
    // A DST gap can fold two local periods onto the same instants; clip so no time counts twice.
    const start = Math.max(instantOn(day, period.start), previousEnd);
    const end = instantOn(day, period.end);
    if (end > start) {
      spans.push({ start, end });
      previousEnd = end;
    }
  }
  return spans;
}
