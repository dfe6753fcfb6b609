import { DateTime } from 'luxon';
import { z } from 'zod';
import { AvcareError, type Severity, severitySchema } from '../../protocol/index.js';
import {
  type ClockPeriod,
  clockTimeSchema,
  dateKey,
  checkExtraWorkdays,
  instantMs,
  isoDateSchema,
  isoWeekdaySchema,
  localDayOf,
  overlapProblems,
  spansOn,
  startsBeforeEnds,
  timeZoneSchema,
} from './local-time.js';
import { parseOrRefuse } from './parse-input.js';

/**
 * A room's lessons, and what a fault means for teaching: shared/domain.md, "a fault during a lesson
 * is worse than the same fault at night" (a class is dozens of students).
 */

const lessonSchema = z
  .strictObject({
    weekday: isoWeekdaySchema,
    start: clockTimeSchema.describe('lesson start HH:MM'),
    end: clockTimeSchema.describe('lesson end HH:MM'),
  })
  .refine(startsBeforeEnds, { error: 'start must be before end', path: ['end'] });

export const roomTimetableSchema = z
  .strictObject({
    timeZone: timeZoneSchema,
    lessons: z
      .array(lessonSchema)
      .superRefine((lessons, context) => {
        // One room holds one lesson at a time: an overlap is a data-entry error.
        for (const { index, message } of overlapProblems(lessons, (lesson) => lesson.weekday)) {
          context.addIssue({ code: 'custom', path: [index], message });
        }
      })
      .describe('the weekly lessons held in the room'),
    holidays: z.array(isoDateSchema).default(() => []).describe('dates with no lessons'),
    extraWorkdays: z
      .array(
        z.strictObject({
          date: isoDateSchema,
          followsWeekday: isoWeekdaySchema.describe('the weekday whose lessons are taught that day'),
        }),
      )
      .default(() => [])
      .describe('调休: a date that follows another weekday\'s timetable, e.g. a Saturday teaching Monday\'s lessons'),
  })
  .superRefine(checkExtraWorkdays);

export type RoomTimetable = z.output<typeof roomTimetableSchema>;
export type RoomTimetableInput = z.input<typeof roomTimetableSchema>;

/** A room's timetable from its settings, or an INVALID_ARGUMENT naming each bad field. */
export function parseRoomTimetable(input: unknown): RoomTimetable {
  return parseOrRefuse(roomTimetableSchema, input, 'room timetable');
}

export interface TeachingContext {
  /** A lesson is running at that instant (start included, end excluded). */
  inLesson: boolean;
  /** The next lesson to start after that instant, within a week; null when none. */
  nextLessonAt: Date | null;
  /** Whole minutes to nextLessonAt, rounded up so a lesson never looks further off than it is. */
  minutesToNextLesson: number | null;
}

/** A weekly timetable repeats, so a week ahead finds the next lesson unless holidays intervene. */
const LOOK_AHEAD_DAYS = 7;
const MINUTE_MS = 60_000;

export function teachingContext(timetable: RoomTimetable, at: Date): TeachingContext {
  const atMs = instantMs(at, 'at');
  const horizonMs = DateTime.fromMillis(atMs, { zone: timetable.timeZone }).plus({ days: LOOK_AHEAD_DAYS }).toMillis();
  const lessonsOn = lessonPeriodsByDate(timetable);
  let inLesson = false;
  for (let day = localDayOf(atMs, timetable.timeZone); day.toMillis() <= horizonMs; day = day.plus({ days: 1 })) {
    for (const span of spansOn(day, lessonsOn(day))) {
      if (span.start <= atMs && atMs < span.end) inLesson = true;
      if (span.start > atMs && span.start <= horizonMs) {
        return { inLesson, nextLessonAt: new Date(span.start), minutesToNextLesson: Math.ceil((span.start - atMs) / MINUTE_MS) };
      }
    }
  }
  return { inLesson, nextLessonAt: null, minutesToNextLesson: null };
}

function lessonPeriodsByDate(timetable: RoomTimetable): (day: DateTime<true>) => ClockPeriod[] {
  const holidays = new Set(timetable.holidays);
  const followedWeekday = new Map(timetable.extraWorkdays.map(({ date, followsWeekday }) => [date, followsWeekday]));
  return (day) => {
    const date = dateKey(day);
    if (holidays.has(date)) return [];
    const weekday = followedWeekday.get(date) ?? day.weekday;
    return timetable.lessons.filter((lesson) => lesson.weekday === weekday);
  };
}

/** Enough warning to try a remote fix or bring a spare before the class walks in. */
export const DEFAULT_LEAD_MINUTES = 30;

export interface TeachingEscalation {
  severity: Severity;
  /** Why the severity was raised; absent when it was not. */
  reason?: string;
}

const SEVERITY_RANK = severitySchema.options;

/**
 * A fault during a lesson, or within `leadMinutes` of the next one, is at least 'urgent': it blocks
 * (or is about to block) teaching, which is what 'urgent' means. Never lowers a severity, and never
 * raises to 'critical': whether the room cannot teach at all is the caller's judgement of the fault.
 */
export function escalateForTeaching(severity: Severity, context: TeachingContext, options: { leadMinutes?: number } = {}): TeachingEscalation {
  const leadMinutes = options.leadMinutes ?? DEFAULT_LEAD_MINUTES;
  if (!Number.isFinite(leadMinutes) || leadMinutes < 0) {
    throw new AvcareError('INVALID_ARGUMENT', 'leadMinutes must be a number of minutes >= 0', { leadMinutes });
  }
  if (SEVERITY_RANK.indexOf(severity) >= SEVERITY_RANK.indexOf('urgent')) return { severity };
  if (context.inLesson) return { severity: 'urgent', reason: 'fault during a lesson' };
  const minutes = context.minutesToNextLesson;
  if (minutes !== null && minutes <= leadMinutes) {
    return { severity: 'urgent', reason: `next lesson starts in ${minutes} min (within ${leadMinutes} min)` };
  }
  return { severity };
}
