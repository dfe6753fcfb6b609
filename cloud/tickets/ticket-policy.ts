import { z } from 'zod';

const minutes = (max: number) => z.number().positive().max(max);

/**
 * How tickets follow faults. The defaults are the issue's: damping that keeps a flapping fault on
 * one ticket, a hold before the agent's "clear" resolves, a grace before an offline PC is a ticket.
 */
export const ticketPolicySchema = z.strictObject({
  offlineGraceMinutes: minutes(24 * 60).default(2).describe('An agent offline (last will) this long opens a ticket'),
  flapWindowMinutes: minutes(24 * 60).default(10).describe('A fault that clears and returns within this window is flapping: same ticket, counted'),
  holdMinutes: minutes(24 * 60).default(5).describe('A fault cleared and staying clear this long resolves its ticket (verified by the agent)'),
  reopenWindowHours: z.number().positive().max(24 * 30).default(24).describe('A resolved ticket reopens if its fault returns within this time; after it, the ticket closes'),
  lessonLeadMinutes: z.number().min(0).max(240).default(30).describe('A fault this close to the next lesson counts as during a lesson'),
  chargeLeadMinutes: z
    .number()
    .min(0)
    .max(480)
    .default(90)
    .describe('A VR headset low on battery this long before the next lesson counts as during it: charging one from 30% to a lesson\'s 80% takes about an hour'),
  schoolIncident: z
    .strictObject({
      rooms: z.number().int().min(2).max(1000).default(3).describe('This many rooms of one school with tickets opened within the window make each of them critical'),
      windowMinutes: minutes(24 * 60).default(15),
    })
    .prefault({}),
});
export type TicketPolicy = z.infer<typeof ticketPolicySchema>;

export const DEFAULT_TICKET_POLICY: TicketPolicy = ticketPolicySchema.parse({});

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
