import type { Role } from '../../protocol/index.js';
import { NOT_OPERATOR, PERMISSIONS, ROLE_PERMISSIONS, roleMay, type Permission } from '../../protocol/permissions.js';

export { PERMISSIONS, type Permission };

/** Who a request acts as, once its bearer token has been checked. */
export interface Principal {
  accountId: string;
  name: string;
  role: Role;
  /** The school of a school admin or IT teacher. */
  schoolId: string | null;
  /** The service team of an engineer. */
  teamId: string | null;
  tokenId: string;
  /** A first-run or reset password: nothing but changing it is allowed until then. */
  mustChangePassword: boolean;
}

export function may(principal: Pick<Principal, 'role'>, permission: Permission): boolean {
  return roleMay(principal.role, permission);
}

const SCHOOL_ROLES: readonly Role[] = ['school_admin', 'it_teacher'];

/**
 * What a person refused a permission can do about it, from where they stand: who among the people
 * they deal with does it. A school admin refused a ticket move is pointed to the service team, not
 * to "your school admin"; an engineer refused the school's own business is pointed to the school.
 */
export function refusalHint(role: Role, permission: Permission): string {
  const holders = (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((other) => other !== role && ROLE_PERMISSIONS[other].has(permission));
  if (role === 'operator' && NOT_OPERATOR.includes(permission)) {
    return "Remote sessions are between a school and the service team that serves it: the team's engineer asks, the school's admin answers. An operator does neither.";
  }
  if (permission === 'sessions.consent') {
    return "Only the school answers for itself: its admin approves or denies in the cloud (avcare-cloud session approve ID), or a teacher at the PC where the school's policy allows it.";
  }
  if (permission === 'sessions.request') {
    return SCHOOL_ROLES.includes(role)
      ? 'Remote sessions are asked for by the engineers of the service team that serves your school; you or your school admin answer them.'
      : 'Only the engineers of the service team that serves the school ask for remote sessions.';
  }
  if (SCHOOL_ROLES.includes(role) && permission === 'tickets.work') {
    return "Moving a ticket along is the service team's work: the engineer of the team serving your school acknowledges and resolves it. Once it is resolved, your school closes and rates it.";
  }
  if (role === 'it_teacher' && holders.includes('school_admin')) return 'Your school admin can do this: ask them.';
  if (role === 'engineer' && holders.includes('school_admin')) return "This is the school's own business: its school admin (or an operator) does it.";
  if (holders.length === 1 && holders[0] === 'operator') return "Only an operator (the service provider's administrator) can do this.";
  return `The roles that can: ${holders.map((holder) => holder.replace('_', ' ')).join(', ')}.`;
}

/** The schools a principal sees: every school, or a set (possibly empty). */
export type SchoolScope = { all: true } | { all: false; schools: ReadonlySet<string> };

/**
 * Operators see every school; school roles their own; engineers the schools in the regions their
 * team covers (from the service configuration: a school not listed there has no team, so only
 * operators see it).
 */
export function schoolScope(principal: Pick<Principal, 'role' | 'schoolId' | 'teamId'>, schoolsOfTeam: (teamId: string) => ReadonlySet<string> | undefined): SchoolScope {
  switch (principal.role) {
    case 'operator':
      return { all: true };
    case 'school_admin':
    case 'it_teacher':
      return { all: false, schools: new Set(principal.schoolId === null ? [] : [principal.schoolId]) };
    case 'engineer':
      return { all: false, schools: principal.teamId === null ? new Set() : (schoolsOfTeam(principal.teamId) ?? new Set()) };
  }
}

export function inScope(scope: SchoolScope, schoolId: string): boolean {
  return scope.all || scope.schools.has(schoolId);
}

/**
 * Which accounts a principal may create or change: operators any; a school admin only the
 * school roles of their own school (never an operator or an engineer, never another school).
 */
export function mayManageAccount(principal: Pick<Principal, 'role' | 'schoolId'>, target: { role: Role; schoolId: string | null }): boolean {
  if (!may(principal, 'users.manage')) return false;
  if (principal.role === 'operator') return true;
  return (target.role === 'school_admin' || target.role === 'it_teacher') && target.schoolId !== null && target.schoolId === principal.schoolId;
}

/** What a role's scope must name: a school, a team, or nothing. */
export function scopeKindOf(role: Role): 'school' | 'team' | 'none' {
  if (role === 'school_admin' || role === 'it_teacher') return 'school';
  if (role === 'engineer') return 'team';
  return 'none';
}
