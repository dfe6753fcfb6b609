import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SLA_POLICY } from './sla.js';
import { loadServiceConfig, parseServiceConfig, serviceDirectory } from './service-config.js';

const examplePath = fileURLToPath(new URL('../../test/fixtures/service/example-service.json', import.meta.url));

describe('service configuration', () => {
  const directory = serviceDirectory(loadServiceConfig(examplePath));

  it('routes a school to the team covering its region, and leaves an unknown school unrouted', () => {
    expect(directory.route('sch-1')).toEqual({ regionId: 'pudong', teamId: 'east' });
    expect(directory.route('sch-2')).toEqual({ regionId: 'kunshan', teamId: 'east' });
    expect(directory.route('sch-unknown')).toEqual({ regionId: null, teamId: null });
  });

  it("gives each school its remote session policy: its own, the defaults', or the built-in one (admin or PC, 60 min, 10 min to answer)", () => {
    expect(directory.remoteSessions('sch-1')).toEqual({ approvers: 'school-admin-or-pc', maxMinutes: 60, defaultMinutes: 60, answerMinutes: 10 });
    expect(directory.remoteSessions('sch-2')).toEqual({ approvers: 'school-admin', maxMinutes: 30, defaultMinutes: 60, answerMinutes: 10 });
    expect(serviceDirectory(parseServiceConfig({})).remoteSessions('any')).toEqual({ approvers: 'school-admin-or-pc', maxMinutes: 60, defaultMinutes: 60, answerMinutes: 10 });
    expect(() => parseServiceConfig({ defaults: { remoteSessions: { approvers: 'anyone', autoAccept: true } } }, 'service.json')).toThrow(/remoteSessions/);
  });

  it("gives a school its contract's SLA, others the defaults, and knows whether the team is in the school's city", () => {
    const gold = directory.terms('sch-1');
    expect(gold.sla).toMatchObject({ firstResponseHours: 1, resolutionHours: { urgent: 4, critical: 24, general: 72 }, clock: 'calendar' });
    expect(gold.sameCity).toBe(true);
    const plain = directory.terms('sch-2');
    expect(plain.sla).toMatchObject({ firstResponseHours: DEFAULT_SLA_POLICY.firstResponseHours, clock: 'business' });
    expect(plain.sameCity).toBe(false);
    expect(plain.calendar.holidays).toEqual(['2026-10-01', '2026-10-02']);
  });

  it("answers from a room's timetable whether a lesson is on (Asia/Shanghai), and null for a room without one", () => {
    // Monday 2026-11-23 08:10 in Shanghai is 00:10 UTC.
    expect(directory.teaching('sch-1', 'r101', new Date('2026-11-23T00:10:00Z'))).toEqual({ inLesson: true, minutesToNextLesson: 50 });
    expect(directory.teaching('sch-1', 'r101', new Date('2026-11-22T23:45:00Z'))).toEqual({ inLesson: false, minutesToNextLesson: 15 });
    expect(directory.teaching('sch-1', 'r999', new Date('2026-11-23T00:10:00Z'))).toBeNull();
  });

  it('keeps the webhook endpoints and the issue\'s ticket policy by default', () => {
    expect(directory.webhooks().map((endpoint) => endpoint.id)).toEqual(['zammad']);
    expect(directory.policy('sch-1')).toMatchObject({ offlineGraceMinutes: 2, holdMinutes: 5 });
  });

  it('refuses a broken configuration naming every wrong field, and never a secret', () => {
    const example = JSON.parse(readFileSync(examplePath, 'utf8')) as { schools: Array<Record<string, unknown>>; teams: Array<Record<string, unknown>>; webhooks: Array<Record<string, unknown>> };
    example.schools[1] = { id: 'sch-2', region: 'atlantis', contract: 'platinum' };
    example.teams.push({ id: 'east', regions: ['pudong'] });
    example.webhooks[0] = { ...example.webhooks[0], secret: 'short-secret' };
    let message = '';
    try {
      parseServiceConfig(example, 'service.json');
    } catch (error) {
      message = (error as Error).message;
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    }
    expect(message).toContain('service.json is invalid');
    expect(message).toContain('schools.1.region: no region atlantis in regions');
    expect(message).toContain('schools.1.contract: no contract platinum in contracts');
    expect(message).toContain('teams.1.id: east is listed twice');
    expect(message).toContain('webhooks.0.secret: must be at least 16 characters');
    expect(message).not.toContain('short-secret');
  });

  it('says which file cannot be read or is not JSON', () => {
    expect(() => loadServiceConfig('/nonexistent/service.json')).toThrow(/cannot read the service configuration \/nonexistent\/service.json/);
  });
});
