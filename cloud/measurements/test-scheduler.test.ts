import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE, TestPlanner } from './test-scheduler.js';

const room101 = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const noTimetable = { schoolId: 'sch-1', roomId: 'r102', agentId: 'pc-02' };
/** 2026-12-07 is a Monday; 00:00 UTC is 08:00 in Shanghai. */
const monday = (hhmm: string) => new Date(`2026-12-07T${hhmm}:00+08:00`);

/** r101 has a lesson 09:00-09:45; every other room has no timetable. */
const teaching = {
  teaching(_school: string, roomId: string, at: Date) {
    if (roomId !== 'r101') return null;
    const lessonStart = monday('09:00').getTime();
    const lessonEnd = monday('09:45').getTime();
    const inLesson = at.getTime() >= lessonStart && at.getTime() < lessonEnd;
    const minutesToNextLesson = at.getTime() < lessonStart ? Math.ceil((lessonStart - at.getTime()) / 60_000) : null;
    return { inLesson, minutesToNextLesson };
  },
};

describe('who the cloud asks to test, and when', () => {
  it('asks every agent once per period in school hours, and nobody at night or at the weekend', () => {
    const planner = new TestPlanner(DEFAULT_SCHEDULE, teaching);
    expect(planner.due([noTimetable], monday('08:00')).map((ask) => ask.message.reason)).toEqual(['schedule']);
    expect(planner.due([noTimetable], monday('08:20'))).toEqual([]);
    expect(planner.due([noTimetable], monday('08:31')).map((ask) => ask.message.tests)).toEqual([['network', 'avsync']]);
    expect(new TestPlanner(DEFAULT_SCHEDULE, teaching).due([noTimetable], monday('21:00'))).toEqual([]);
    expect(new TestPlanner(DEFAULT_SCHEDULE, teaching).due([noTimetable], new Date('2026-12-05T10:00:00+08:00'))).toEqual([]);
  });

  it('runs the room-ready check once, shortly before the lesson, and skips the lesson itself', () => {
    const planner = new TestPlanner(DEFAULT_SCHEDULE, teaching);
    expect(planner.due([room101], monday('08:45')).map((ask) => ask.message.reason)).toEqual(['schedule']);
    const ready = planner.due([room101], monday('08:51'));
    expect(ready.map((ask) => [ask.message.reason, ask.message.lessonAt])).toEqual([['room-ready', monday('09:00').toISOString()]]);
    expect(planner.due([room101], monday('08:55'))).toEqual([]);
    // In the lesson: no scheduled test, however long since the last.
    expect(planner.due([room101], monday('09:30'))).toEqual([]);
    // After it, the schedule resumes.
    expect(planner.due([room101], monday('09:50')).map((ask) => ask.message.reason)).toEqual(['schedule']);
  });

  it('tests during lessons when configured to, and not at all when disabled', () => {
    expect(new TestPlanner({ ...DEFAULT_SCHEDULE, duringLessons: true }, teaching).due([room101], monday('09:30')).map((ask) => ask.message.reason)).toEqual(['schedule']);
    expect(new TestPlanner({ ...DEFAULT_SCHEDULE, enabled: false }, teaching).due([room101, noTimetable], monday('08:51'))).toEqual([]);
  });
});
