import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { escalateForTeaching, parseRoomTimetable, teachingContext, type TeachingContext } from './timetable.js';

const beijing = (local: string) => new Date(`${local}+08:00`);

const DAILY_LESSONS = [
  { start: '08:00', end: '08:45' },
  { start: '08:55', end: '09:40' },
  { start: '14:00', end: '14:45' },
];
const weekdayLessons = [1, 2, 3, 4, 5].flatMap((weekday) => DAILY_LESSONS.map((lesson) => ({ weekday, ...lesson })));
const room = parseRoomTimetable({ lessons: weekdayLessons });
// National Day 2025: 1-8 October off; Sunday 28 September teaches Monday's lessons, Saturday 11 October Friday's.
const nationalDayRoom = parseRoomTimetable({
  lessons: weekdayLessons,
  holidays: ['2025-10-01', '2025-10-02', '2025-10-03', '2025-10-04', '2025-10-05', '2025-10-06', '2025-10-07', '2025-10-08'],
  extraWorkdays: [
    { date: '2025-09-28', followsWeekday: 1 },
    { date: '2025-10-11', followsWeekday: 5 },
  ],
});

function refusal(input: unknown): AvcareError {
  try {
    parseRoomTimetable(input);
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('the timetable was accepted');
}

describe('roomTimetableSchema', () => {
  it('defaults to Beijing time with no holidays or extra workdays', () => {
    expect(parseRoomTimetable({ lessons: [] })).toEqual({ timeZone: 'Asia/Shanghai', lessons: [], holidays: [], extraWorkdays: [] });
  });

  it('refuses bad weekdays, backwards lessons and overlapping lessons of one weekday, naming each', () => {
    const error = refusal({
      lessons: [
        { weekday: 8, start: '08:00', end: '08:45' },
        { weekday: 1, start: '09:00', end: '08:00' },
        { weekday: 2, start: '08:00', end: '08:45' },
        { weekday: 2, start: '08:30', end: '09:15' },
        { weekday: 3, start: '08:30', end: '09:15' },
      ],
    });
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('lessons.0.weekday: must be an ISO weekday number: 1 = Monday ... 7 = Sunday');
    expect(error.message).toContain('lessons.1.end: start must be before end');
    expect(error.message).toContain('lessons.3: 08:30-09:15 overlaps 08:00-08:45');
    expect(error.message).not.toContain('lessons.4');
  });

  it('refuses a missing lesson list, a bad followed weekday and a day both off and worked', () => {
    expect(refusal({}).message).toContain('lessons: ');
    const error = refusal({
      lessons: [],
      holidays: ['2025-10-01'],
      extraWorkdays: [
        { date: '2025-10-01', followsWeekday: 3 },
        { date: '2025-10-11', followsWeekday: 0 },
      ],
    });
    expect(error.message).toContain('extraWorkdays.1.followsWeekday: must be an ISO weekday number');
    // The contradiction is checked once the fields themselves are valid.
    expect(refusal({ lessons: [], holidays: ['2025-10-01'], extraWorkdays: [{ date: '2025-10-01', followsWeekday: 3 }] }).message).toContain(
      'extraWorkdays.0.date: 2025-10-01 is also listed in holidays',
    );
  });
});

describe('teachingContext', () => {
  it('is in a lesson from its start up to, not including, its end, and points at the following lesson', () => {
    expect(teachingContext(room, beijing('2025-03-17T08:00'))).toEqual({ inLesson: true, nextLessonAt: beijing('2025-03-17T08:55'), minutesToNextLesson: 55 });
    expect(teachingContext(room, beijing('2025-03-17T08:10'))).toEqual({ inLesson: true, nextLessonAt: beijing('2025-03-17T08:55'), minutesToNextLesson: 45 });
    expect(teachingContext(room, beijing('2025-03-17T08:45'))).toEqual({ inLesson: false, nextLessonAt: beijing('2025-03-17T08:55'), minutesToNextLesson: 10 });
  });

  it('gives the minutes before the first lesson, rounded up', () => {
    expect(teachingContext(room, beijing('2025-03-17T07:40'))).toEqual({ inLesson: false, nextLessonAt: beijing('2025-03-17T08:00'), minutesToNextLesson: 20 });
    expect(teachingContext(room, beijing('2025-03-17T07:29:30')).minutesToNextLesson).toBe(31);
  });

  it('finds Monday\'s first lesson from Friday afternoon', () => {
    expect(teachingContext(room, beijing('2025-03-21T15:00'))).toEqual({ inLesson: false, nextLessonAt: beijing('2025-03-24T08:00'), minutesToNextLesson: 65 * 60 });
  });

  it('finds next week\'s lesson exactly seven days ahead', () => {
    const mondaysOnly = parseRoomTimetable({ lessons: [{ weekday: 1, start: '08:00', end: '08:45' }] });
    expect(teachingContext(mondaysOnly, beijing('2025-03-17T08:00'))).toEqual({ inLesson: true, nextLessonAt: beijing('2025-03-24T08:00'), minutesToNextLesson: 7 * 24 * 60 });
  });

  it('has no lessons on holidays, and none ahead when the holidays last beyond a week', () => {
    expect(teachingContext(nationalDayRoom, beijing('2025-10-01T08:10'))).toEqual({ inLesson: false, nextLessonAt: null, minutesToNextLesson: null });
    expect(teachingContext(nationalDayRoom, beijing('2025-09-30T15:00'))).toEqual({ inLesson: false, nextLessonAt: null, minutesToNextLesson: null });
  });

  it('teaches the followed weekday\'s lessons on a 调休 weekend day', () => {
    expect(teachingContext(nationalDayRoom, beijing('2025-09-28T08:10')).inLesson).toBe(true);
    expect(teachingContext(nationalDayRoom, beijing('2025-10-10T15:00'))).toEqual({ inLesson: false, nextLessonAt: beijing('2025-10-11T08:00'), minutesToNextLesson: 17 * 60 });
  });

  it('reads lessons in the timetable\'s zone, across the March DST change', () => {
    const berlinRoom = parseRoomTimetable({ timeZone: 'Europe/Berlin', lessons: [{ weekday: 1, start: '08:00', end: '08:45' }] });
    // Saturday 08:00 CET to Monday 08:00 CEST is 47 hours: Sunday night loses one.
    expect(teachingContext(berlinRoom, new Date('2025-03-29T07:00Z'))).toEqual({ inLesson: false, nextLessonAt: new Date('2025-03-31T06:00Z'), minutesToNextLesson: 47 * 60 });
  });

  it('refuses an invalid date', () => {
    expect(() => teachingContext(room, new Date('later'))).toThrow(/at must be a valid date/);
  });
});

describe('escalateForTeaching', () => {
  const context = (inLesson: boolean, minutesToNextLesson: number | null): TeachingContext => ({
    inLesson,
    nextLessonAt: minutesToNextLesson === null ? null : new Date(Date.UTC(2025, 2, 17) + minutesToNextLesson * 60_000),
    minutesToNextLesson,
  });

  it('raises a general fault during a lesson to urgent', () => {
    expect(escalateForTeaching('general', context(true, 50))).toEqual({ severity: 'urgent', reason: 'fault during a lesson' });
  });

  it('raises a general fault within the lead time of the next lesson, the boundary included', () => {
    expect(escalateForTeaching('general', context(false, 20))).toEqual({ severity: 'urgent', reason: 'next lesson starts in 20 min (within 30 min)' });
    expect(escalateForTeaching('general', context(false, 30)).severity).toBe('urgent');
    expect(escalateForTeaching('general', context(false, 31))).toEqual({ severity: 'general' });
  });

  it('takes the lead time from the caller', () => {
    expect(escalateForTeaching('general', context(false, 45), { leadMinutes: 60 })).toEqual({ severity: 'urgent', reason: 'next lesson starts in 45 min (within 60 min)' });
    expect(escalateForTeaching('general', context(false, 5), { leadMinutes: 0 })).toEqual({ severity: 'general' });
  });

  it('leaves a fault with no lesson ahead as it is', () => {
    expect(escalateForTeaching('general', context(false, null))).toEqual({ severity: 'general' });
  });

  it('never lowers a severity and never raises to critical on its own', () => {
    expect(escalateForTeaching('urgent', context(true, 10))).toEqual({ severity: 'urgent' });
    expect(escalateForTeaching('critical', context(true, 10))).toEqual({ severity: 'critical' });
  });

  it('refuses a negative or non-finite lead time', () => {
    expect(() => escalateForTeaching('general', context(false, 5), { leadMinutes: -1 })).toThrow(/leadMinutes must be a number of minutes >= 0/);
    expect(() => escalateForTeaching('general', context(false, 5), { leadMinutes: Number.NaN })).toThrow(AvcareError);
  });

  it('turns a timetable and an instant into the escalation', () => {
    expect(escalateForTeaching('general', teachingContext(room, beijing('2025-03-17T13:40')))).toEqual({
      severity: 'urgent',
      reason: 'next lesson starts in 20 min (within 30 min)',
    });
    expect(escalateForTeaching('general', teachingContext(room, beijing('2025-03-17T20:00')))).toEqual({ severity: 'general' });
  });
});
