/**
 * Who may act, and on what. Roles are fixed: operator (everything), school admin and IT teacher
 * (their school), engineer (the schools of their service team's regions).
 */
export const ROLES = ['operator', 'school_admin', 'it_teacher', 'engineer'] as const;
export type Role = (typeof ROLES)[number];
