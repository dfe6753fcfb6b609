import { describe, expect, it } from 'vitest';
import { inScope, may, mayManageAccount, PERMISSIONS, refusalHint, schoolScope } from './access-policy.js';

const teams = (team: string) => (team === 'east' ? new Set(['sch-1', 'sch-2']) : undefined);

describe('access policy', () => {
  it('gives each role its acts: operators all but a session\'s two sides, school roles their school\'s, engineers the service team\'s', () => {
    expect(PERMISSIONS.filter((permission) => !may({ role: 'operator' }, permission))).toEqual(['sessions.request', 'sessions.consent']);
    const allowed = (role: 'school_admin' | 'it_teacher' | 'engineer') => PERMISSIONS.filter((permission) => may({ role }, permission));
    expect(allowed('school_admin')).toEqual(['fleet.read', 'tests.run', 'tickets.read', 'tickets.close', 'tickets.rate', 'enroll.manage', 'agents.revoke', 'users.manage', 'audit.read', 'sessions.read', 'sessions.consent']);
    expect(allowed('it_teacher')).toEqual(['fleet.read', 'tests.run', 'tickets.read', 'tickets.rate', 'sessions.read']);
    expect(allowed('engineer')).toEqual(['fleet.read', 'tests.run', 'tickets.read', 'tickets.work', 'tickets.close', 'sessions.read', 'sessions.request']);
  });

  it('scopes people to schools: their own, their team\'s regions, or every school for operators', () => {
    expect(inScope(schoolScope({ role: 'operator', schoolId: null, teamId: null }, teams), 'anything')).toBe(true);
    const teacher = schoolScope({ role: 'it_teacher', schoolId: 'sch-1', teamId: null }, teams);
    expect([inScope(teacher, 'sch-1'), inScope(teacher, 'sch-2')]).toEqual([true, false]);
    const engineer = schoolScope({ role: 'engineer', schoolId: null, teamId: 'east' }, teams);
    expect([inScope(engineer, 'sch-1'), inScope(engineer, 'sch-2'), inScope(engineer, 'sch-3')]).toEqual([true, true, false]);
    // A team the service configuration no longer names sees nothing.
    expect(inScope(schoolScope({ role: 'engineer', schoolId: null, teamId: 'gone' }, teams), 'sch-1')).toBe(false);
  });

  it('lets a school admin manage only the school roles of their own school', () => {
    const admin = { role: 'school_admin' as const, schoolId: 'sch-1' };
    expect(mayManageAccount(admin, { role: 'it_teacher', schoolId: 'sch-1' })).toBe(true);
    expect(mayManageAccount(admin, { role: 'school_admin', schoolId: 'sch-1' })).toBe(true);
    expect(mayManageAccount(admin, { role: 'it_teacher', schoolId: 'sch-2' })).toBe(false);
    expect(mayManageAccount(admin, { role: 'engineer', schoolId: null })).toBe(false);
    expect(mayManageAccount(admin, { role: 'operator', schoolId: null })).toBe(false);
    expect(mayManageAccount({ role: 'it_teacher', schoolId: 'sch-1' }, { role: 'it_teacher', schoolId: 'sch-1' })).toBe(false);
    expect(mayManageAccount({ role: 'operator', schoolId: null }, { role: 'operator', schoolId: null })).toBe(true);
  });

  it('fits a refusal\'s hint to the role that gets it', () => {
    // A school admin may not move a ticket: the service team does, so "your school admin can" would be absurd.
    expect(refusalHint('school_admin', 'tickets.work')).toContain("the service team's work");
    expect(refusalHint('school_admin', 'tickets.work')).not.toMatch(/school admin can/i);
    expect(refusalHint('it_teacher', 'tickets.close')).toBe('Your school admin can do this: ask them.');
    expect(refusalHint('it_teacher', 'enroll.manage')).toBe('Your school admin can do this: ask them.');
    expect(refusalHint('engineer', 'users.manage')).toContain("the school's own business");
    expect(refusalHint('engineer', 'sessions.consent')).toContain('Only the school answers for itself');
    expect(refusalHint('operator', 'sessions.request')).toContain('An operator does neither');
    expect(refusalHint('school_admin', 'reflectors.manage')).toBe("Only an operator (the service provider's administrator) can do this.");
    expect(refusalHint('it_teacher', 'sessions.request')).toContain('engineers of the service team that serves your school');
  });
});
