import { DEFAULT_TICKET_POLICY, type TicketPolicy } from './ticket-policy.js';

/** Where a school's tickets go: its region and the service team that covers it. */
export interface Route {
  regionId: string | null;
  teamId: string | null;
}

export interface TeachingNow {
  inLesson: boolean;
  minutesToNextLesson: number | null;
}

/**
 * What the ticket engine needs to know about schools beyond their telemetry: routing, timetables
 * and policy. The service configuration implements it; tests pass small literal ones.
 */
export interface ServiceDirectory {
  route(schoolId: string): Route;
  /** Null when the room has no timetable: severity then follows the fault alone. */
  teaching(schoolId: string, roomId: string, at: Date): TeachingNow | null;
  policy(schoolId: string): TicketPolicy;
  /** Every policy in use (at least one): the sweep selects candidates by the shortest times. */
  policies(): readonly TicketPolicy[];
}

/** No regions, teams or timetables: tickets open unrouted, with the default policy. */
export const EMPTY_DIRECTORY: ServiceDirectory = {
  route: () => ({ regionId: null, teamId: null }),
  teaching: () => null,
  policy: () => DEFAULT_TICKET_POLICY,
  policies: () => [DEFAULT_TICKET_POLICY],
};
