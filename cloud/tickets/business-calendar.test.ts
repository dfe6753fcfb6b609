import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { addBusinessTime, businessCalendarSchema, businessTimeBetween, isBusinessTime, parseBusinessCalendar } from './business-calendar.js';

const HOUR = 3_600_000;
/** An instant written as Beijing wall-clock time, so expectations read like a school's clock. */
const beijing = (local: string) => new Date(`${local}+08:00`);

const schoolCalendar = parseBusinessCalendar({});
// National Day 2025: 1-8 October off, Sunday 28 September and Saturday 11 October worked (调休).
const nationalDay2025 = parseBusinessCalendar({
  holidays: ['2025-10-01', '2025-10-02', '2025-10-03', '2025-10-04', '2025-10-05', '2025-10-06', '2025-10-07', '2025-10-08'],
  extraWorkdays: [{ date: '2025-09-28' }, { date: '2025-10-11', hours: [{ start: '08:00', end: '12:00' }] }],
});

function refusal(input: unknown): AvcareError {
  try {
    parseBusinessCalendar(input);
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('the calendar was accepted');
}

describe('businessCalendarSchema', () => {
  it('defaults to Beijing time, Monday to Friday 07:30-17:30, weekends closed', () => {
    const calendar = businessCalendarSchema.parse({});
    expect(calendar.timeZone).toBe('Asia/Shanghai');
    for (const weekday of ['1', '2', '3', '4', '5'] as const) expect(calendar.weeklyHours[weekday]).toEqual([{ start: '07:30', end: '17:30' }]);
    expect(calendar.weeklyHours['6']).toEqual([]);
    expect(calendar.weeklyHours['7']).toEqual([]);
    expect(calendar.holidays).toEqual([]);
    expect(calendar.extraWorkdays).toEqual([]);
  });

  it('keeps the default of every weekday a school leaves out', () => {
    const calendar = parseBusinessCalendar({ weeklyHours: { '6': [{ start: '08:00', end: '12:00' }], '1': [] } });
    expect(calendar.weeklyHours['6']).toEqual([{ start: '08:00', end: '12:00' }]);
    expect(calendar.weeklyHours['1']).toEqual([]);
    expect(calendar.weeklyHours['2']).toEqual([{ start: '07:30', end: '17:30' }]);
  });

  it('does not share the default hours between parsed calendars', () => {
    const first = parseBusinessCalendar({});
    first.weeklyHours['1'].push({ start: '18:00', end: '20:00' });
    expect(parseBusinessCalendar({}).weeklyHours['1']).toEqual([{ start: '07:30', end: '17:30' }]);
  });

  it('refuses a period that ends before it starts, naming the field', () => {
    const error = refusal({ weeklyHours: { '3': [{ start: '17:30', end: '07:30' }] } });
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('weeklyHours.3.0.end: start must be before end');
  });

  it('refuses overlapping periods, including short ones inside a long one, but accepts touching ones', () => {
    const error = refusal({
      weeklyHours: { '2': [{ start: '08:00', end: '18:00' }, { start: '09:00', end: '10:00' }, { start: '11:00', end: '12:00' }] },
    });
    expect(error.message).toContain('weeklyHours.2.1: 09:00-10:00 overlaps 08:00-18:00');
    expect(error.message).toContain('weeklyHours.2.2: 11:00-12:00 overlaps 08:00-18:00');
    const touching = parseBusinessCalendar({ weeklyHours: { '2': [{ start: '12:00', end: '14:00' }, { start: '08:00', end: '12:00' }] } });
    expect(touching.weeklyHours['2']).toHaveLength(2);
  });

  it('refuses malformed times, impossible dates, unknown zones and unknown weekdays', () => {
    const error = refusal({
      timeZone: 'Asia/Beijing',
      weeklyHours: { '1': [{ start: '7:30', end: '25:00' }], '8': [] },
      holidays: ['2025-02-30', '2025/10/01'],
    });
    expect(error.message).toContain('timeZone: must be an IANA time zone name such as Asia/Shanghai');
    expect(error.message).toContain('weeklyHours.1.0.start: must be a 24-hour local time HH:MM');
    expect(error.message).toContain('weeklyHours.1.0.end: must be a 24-hour local time HH:MM');
    expect(error.message).toContain('weeklyHours: Unrecognized key: "8"');
    expect(error.message).toContain('holidays.0: must be a real calendar date');
    expect(error.message).toContain('holidays.1: must be a date YYYY-MM-DD');
    expect(error.message).not.toContain('start must be before end');
  });

  it('refuses a day that is both a holiday and an extra workday, or an extra workday listed twice', () => {
    const error = refusal({ holidays: ['2025-10-01'], extraWorkdays: [{ date: '2025-10-01' }, { date: '2025-10-11' }, { date: '2025-10-11' }] });
    expect(error.message).toContain('extraWorkdays.0.date: 2025-10-01 is also listed in holidays');
    expect(error.message).toContain('extraWorkdays.2.date: 2025-10-11 is listed twice');
  });

  it('refuses a misspelt field instead of silently ignoring it', () => {
    expect(refusal({ holiday: ['2025-10-01'] }).message).toContain('business calendar: Unrecognized key: "holiday"');
  });
});

describe('isBusinessTime', () => {
  it('is open from the opening minute up to, not including, the closing minute', () => {
    expect(isBusinessTime(schoolCalendar, beijing('2025-03-17T07:29:59.999'))).toBe(false);
    expect(isBusinessTime(schoolCalendar, beijing('2025-03-17T07:30'))).toBe(true);
    expect(isBusinessTime(schoolCalendar, beijing('2025-03-17T17:29:59.999'))).toBe(true);
    expect(isBusinessTime(schoolCalendar, beijing('2025-03-17T17:30'))).toBe(false);
  });

  it('is closed at weekends and on holidays, and open on a 调休 weekend workday', () => {
    expect(isBusinessTime(schoolCalendar, beijing('2025-03-15T10:00'))).toBe(false);
    expect(isBusinessTime(nationalDay2025, beijing('2025-10-01T10:00'))).toBe(false);
    expect(isBusinessTime(nationalDay2025, beijing('2025-09-28T10:00'))).toBe(true);
    expect(isBusinessTime(nationalDay2025, beijing('2025-10-11T11:59'))).toBe(true);
    expect(isBusinessTime(nationalDay2025, beijing('2025-10-11T12:00'))).toBe(false);
  });

  it('reads the wall clock in the calendar\'s zone, not the server\'s', () => {
    // 01:00 UTC is 09:00 in Beijing and 02:00 in Berlin.
    const berlin = parseBusinessCalendar({ timeZone: 'Europe/Berlin' });
    expect(isBusinessTime(schoolCalendar, new Date('2025-03-17T01:00Z'))).toBe(true);
    expect(isBusinessTime(berlin, new Date('2025-03-17T01:00Z'))).toBe(false);
  });

  it('refuses an invalid date', () => {
    expect(() => isBusinessTime(schoolCalendar, new Date('tomorrow'))).toThrow(/at must be a valid date/);
  });
});

describe('addBusinessTime', () => {
  it('adds within one day', () => {
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-17T09:00'), 2 * HOUR)).toEqual(beijing('2025-03-17T11:00'));
  });

  it('carries what is left at closing time over to the next opening', () => {
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-17T16:30'), 2 * HOUR)).toEqual(beijing('2025-03-18T08:30'));
  });

  it('ends at the closing time when the time runs out exactly then', () => {
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-17T15:30'), 2 * HOUR)).toEqual(beijing('2025-03-17T17:30'));
  });

  it('starts counting at the next opening when `from` is at night or at the weekend', () => {
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-17T22:00'), HOUR)).toEqual(beijing('2025-03-18T08:30'));
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-18T03:00'), HOUR)).toEqual(beijing('2025-03-18T08:30'));
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-15T10:00'), HOUR)).toEqual(beijing('2025-03-17T08:30'));
  });

  it('skips the holidays when `from` falls on one', () => {
    expect(addBusinessTime(nationalDay2025, beijing('2025-10-01T10:00'), HOUR)).toEqual(beijing('2025-10-09T08:30'));
  });

  it('counts a 调休 Saturday, with its own hours', () => {
    // Friday 10 October 17:00: half an hour left that day, then Saturday 11 October opens 08:00-12:00.
    expect(addBusinessTime(nationalDay2025, beijing('2025-10-10T17:00'), HOUR)).toEqual(beijing('2025-10-11T08:30'));
    expect(addBusinessTime(nationalDay2025, beijing('2025-10-10T17:00'), 5 * HOUR)).toEqual(beijing('2025-10-13T08:00'));
  });

  it('gives a 调休 day without hours the Monday hours', () => {
    expect(addBusinessTime(nationalDay2025, beijing('2025-09-27T12:00'), HOUR)).toEqual(beijing('2025-09-28T08:30'));
  });

  it('skips a lunch break', () => {
    const withLunch = parseBusinessCalendar({ weeklyHours: { '1': [{ start: '14:00', end: '18:00' }, { start: '08:00', end: '12:00' }] } });
    expect(addBusinessTime(withLunch, beijing('2025-03-17T11:00'), 2 * HOUR)).toEqual(beijing('2025-03-17T15:00'));
    expect(addBusinessTime(withLunch, beijing('2025-03-17T12:30'), HOUR)).toEqual(beijing('2025-03-17T15:00'));
  });

  it('spans a weekend for 72 hours of general resolution', () => {
    // Friday 08:00: 9.5 h that Friday, 50 h in the week after, 10 h on Monday 24th, 2.5 h on Tuesday.
    const from = beijing('2025-03-14T08:00');
    const due = addBusinessTime(schoolCalendar, from, 72 * HOUR);
    expect(due).toEqual(beijing('2025-03-25T10:00'));
    expect(businessTimeBetween(schoolCalendar, from, due)).toBe(72 * HOUR);
  });

  it('adds a month of business time in whole weeks and days', () => {
    // 720 h from Monday 07:30: 14 weeks of 50 h end Friday 6 June 17:30; 20 h more end Tuesday 10 June 17:30.
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-03T07:30'), 720 * HOUR)).toEqual(beijing('2025-06-10T17:30'));
  });

  it('returns `from` itself for zero business time', () => {
    expect(addBusinessTime(schoolCalendar, beijing('2025-03-15T10:00'), 0)).toEqual(beijing('2025-03-15T10:00'));
  });

  it('keeps the local opening time across the March DST change in Berlin', () => {
    const berlin = parseBusinessCalendar({ timeZone: 'Europe/Berlin' });
    // Friday 28 March 16:30 CET (+01:00): one hour that day; Monday 31 March opens 07:30 CEST (+02:00).
    expect(addBusinessTime(berlin, new Date('2025-03-28T15:30Z'), 2 * HOUR)).toEqual(new Date('2025-03-31T06:30Z'));
    // The same instant in Beijing is Friday 23:30: the count starts Monday 07:30 +08:00.
    expect(addBusinessTime(schoolCalendar, new Date('2025-03-28T15:30Z'), 2 * HOUR)).toEqual(new Date('2025-03-31T01:30Z'));
  });

  it('refuses a calendar with no business hours at all', () => {
    const closed = parseBusinessCalendar({ weeklyHours: { '1': [], '2': [], '3': [], '4': [], '5': [] } });
    expect(() => addBusinessTime(closed, beijing('2025-03-17T09:00'), HOUR)).toThrow(AvcareError);
    expect(() => addBusinessTime(closed, beijing('2025-03-17T09:00'), HOUR)).toThrow(/business calendar has no business hours/);
    // An extra workday without hours borrows Monday's, which are none here.
    const closedMondays = parseBusinessCalendar({ weeklyHours: { '1': [], '2': [], '3': [], '4': [], '5': [] }, extraWorkdays: [{ date: '2025-09-28' }] });
    expect(() => addBusinessTime(closedMondays, beijing('2025-09-01T09:00'), HOUR)).toThrow(/business calendar has no business hours/);
  });

  it('gives up after two years when the only opening is already past', () => {
    const closedSinceSeptember = parseBusinessCalendar({
      weeklyHours: { '1': [], '2': [], '3': [], '4': [], '5': [] },
      extraWorkdays: [{ date: '2025-09-28', hours: [{ start: '07:30', end: '17:30' }] }],
    });
    expect(() => addBusinessTime(closedSinceSeptember, beijing('2025-10-01T09:00'), HOUR)).toThrow(/does not fit in the 732 days after 2025-10-01T01:00:00.000Z/);
    expect(addBusinessTime(closedSinceSeptember, beijing('2025-09-01T09:00'), HOUR)).toEqual(beijing('2025-09-28T08:30'));
  });

  it('refuses negative or non-finite durations and invalid dates', () => {
    expect(() => addBusinessTime(schoolCalendar, beijing('2025-03-17T09:00'), -1)).toThrow(/>= 0/);
    expect(() => addBusinessTime(schoolCalendar, beijing('2025-03-17T09:00'), Number.POSITIVE_INFINITY)).toThrow(/>= 0/);
    expect(() => addBusinessTime(schoolCalendar, new Date(Number.NaN), HOUR)).toThrow(/from must be a valid date/);
  });
});

describe('businessTimeBetween', () => {
  it('is 0 when `to` is not after `from`', () => {
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-17T10:00'), beijing('2025-03-17T10:00'))).toBe(0);
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-17T11:00'), beijing('2025-03-17T10:00'))).toBe(0);
  });

  it('counts only the open part of a partly open range', () => {
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-17T06:00'), beijing('2025-03-17T08:15'))).toBe(0.75 * HOUR);
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-17T17:00'), beijing('2025-03-17T23:00'))).toBe(0.5 * HOUR);
  });

  it('counts nothing over a weekend and nothing on holidays', () => {
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-14T17:30'), beijing('2025-03-17T07:30'))).toBe(0);
    // Tuesday 30 September 17:00 to Thursday 9 October 08:00: half an hour before, half an hour after.
    expect(businessTimeBetween(nationalDay2025, beijing('2025-09-30T17:00'), beijing('2025-10-09T08:00'))).toBe(HOUR);
  });

  it('counts a full week as 50 hours', () => {
    expect(businessTimeBetween(schoolCalendar, beijing('2025-03-17T00:00'), beijing('2025-03-24T00:00'))).toBe(50 * HOUR);
  });

  it('counts a DST day of a round-the-clock calendar as 23 or 25 hours, as the wall clock does', () => {
    const sundays = parseBusinessCalendar({ timeZone: 'Europe/Berlin', weeklyHours: { '7': [{ start: '00:00', end: '24:00' }] } });
    expect(businessTimeBetween(sundays, new Date('2025-03-29T12:00Z'), new Date('2025-03-31T00:00Z'))).toBe(23 * HOUR);
    expect(businessTimeBetween(sundays, new Date('2025-10-25T12:00Z'), new Date('2025-10-27T00:00Z'))).toBe(25 * HOUR);
    expect(businessTimeBetween(sundays, new Date('2025-03-22T12:00Z'), new Date('2025-03-24T00:00Z'))).toBe(24 * HOUR);
  });

  it('counts periods that touch the spring-forward gap once, as the wall clock runs', () => {
    // On 30 March 2025 Berlin clocks jump from 02:00 to 03:00: 01:00-04:00 local is two real hours.
    const nightShift = parseBusinessCalendar({
      timeZone: 'Europe/Berlin',
      weeklyHours: { '7': [{ start: '01:00', end: '02:30' }, { start: '02:30', end: '04:00' }] },
    });
    expect(businessTimeBetween(nightShift, new Date('2025-03-29T12:00Z'), new Date('2025-03-30T12:00Z'))).toBe(2 * HOUR);
    expect(isBusinessTime(nightShift, new Date('2025-03-30T00:59Z'))).toBe(true);
    expect(isBusinessTime(nightShift, new Date('2025-03-30T02:00Z'))).toBe(false);
  });
});
