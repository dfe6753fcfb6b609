import type { TeachingNow } from '../../protocol/views/fleet-view.js';
import type { RemoteSessionPolicy } from '../sessions/session-policy.js';
import type { WebhookEndpoint } from '../webhooks/webhook-endpoint.js';
import type { BusinessCalendar } from './business-calendar.js';
import type { SlaPolicy } from './sla.js';
import type { TicketPolicy } from './ticket-policy.js';

/** Where a school's tickets go: its region and the service team that covers it. */
export interface Route {
  regionId: string | null;
  teamId: string | null;
}

export type { TeachingNow } from '../../protocol/views/fleet-view.js';

/** A school's service terms: the calendar its SLA clocks count in, the SLA, and where its team sits. */
export interface SchoolTerms {
  calendar: BusinessCalendar;
  sla: SlaPolicy;
  /** The covering team's service point is in the school's city (on-site target). */
  sameCity: boolean;
}

/**
 * What the ticket engine needs to know about schools beyond their telemetry: routing, timetables,
 * policies and SLA terms. The service configuration implements it (service-config.ts); tests
 * override parts of EMPTY_DIRECTORY.
 */
export interface ServiceDirectory {
  route(schoolId: string): Route;
  /** Null when the room has no timetable: severity then follows the fault alone. */
  teaching(schoolId: string, roomId: string, at: Date): TeachingNow | null;
  policy(schoolId: string): TicketPolicy;
  /** Who may approve a remote session at this school, how long one may last, how long the school has to answer. */
  remoteSessions(schoolId: string): RemoteSessionPolicy;
  /** Every policy in use (at least one): the sweep selects candidates by the shortest times. */
  policies(): readonly TicketPolicy[];
  terms(schoolId: string): SchoolTerms;
  webhooks(): readonly WebhookEndpoint[];
  /** The schools in the regions a service team covers (an engineer's scope); undefined for an unknown team. */
  schoolsOfTeam(teamId: string): ReadonlySet<string> | undefined;
  /** A school's name as the configuration gives it (null without one); undefined for a school it does not list. */
  schoolName(schoolId: string): string | null | undefined;
  /** A room's weekly lessons (ISO weekday, HH:MM in the timetable's zone), for people to read; none without a timetable. */
  lessons(schoolId: string, roomId: string): ReadonlyArray<{ weekday: number; start: string; end: string }>;
}
