import type { Role } from './roles.js';

/**
 * What each role may do. Scope (which schools) is checked separately by `schoolScope`; a
 * permission only says what kind of act it is.
 */
export const PERMISSIONS = [
  'fleet.read',
  /** Ask a PC to run its network or A/V sync test now (the agent keeps its own limits). */
  'tests.run',
  'tickets.read',
  /** Acknowledge, start, on-site, arrived, resolve: the service team's moves. */
  'tickets.work',
  /** Close a resolved ticket: the school confirms, or the team closes it. */
  'tickets.close',
  'tickets.rate',
  'enroll.manage',
  'agents.revoke',
  'users.manage',
  'audit.read',
  'metrics.read',
  /** Broker accounts of reflectors in their own processes: the provider's infrastructure, operators only. */
  'reflectors.manage',
  /** See remote sessions and watch them live. */
  'sessions.read',
  /** Ask for a remote session, run commands in it, close it: engineers only. */
  'sessions.request',
  /** Answer for the school (approve, deny, revoke): its admins only, never the provider. */
  'sessions.consent',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What only an engineer or only the school may do: an operator (the provider's admin) does neither. */
export const NOT_OPERATOR: readonly Permission[] = ['sessions.request', 'sessions.consent'];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  operator: new Set(PERMISSIONS.filter((permission) => !NOT_OPERATOR.includes(permission))),
  school_admin: new Set<Permission>(['fleet.read', 'tests.run', 'tickets.read', 'tickets.close', 'tickets.rate', 'enroll.manage', 'agents.revoke', 'users.manage', 'audit.read', 'sessions.read', 'sessions.consent']),
  it_teacher: new Set<Permission>(['fleet.read', 'tests.run', 'tickets.read', 'tickets.rate', 'sessions.read']),
  engineer: new Set<Permission>(['fleet.read', 'tests.run', 'tickets.read', 'tickets.work', 'tickets.close', 'sessions.read', 'sessions.request']),
};


/** Whether a role may do this: the cloud refuses by it, and the console offers only what it allows. */
export function roleMay(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}
