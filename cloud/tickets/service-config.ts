import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AvcareError, topicIdSchema } from '../../protocol/index.js';
import { remoteSessionPolicySchema } from '../sessions/session-policy.js';
import { webhookEndpointsSchema } from '../webhooks/webhook-endpoint.js';
import { businessCalendarSchema } from './business-calendar.js';
import type { Route, SchoolTerms, ServiceDirectory, TeachingNow } from './service-directory.js';
import { slaPolicySchema } from './sla.js';
import { teachingContext, roomTimetableSchema, type RoomTimetable } from './timetable.js';
import { ticketPolicySchema } from './ticket-policy.js';

const configIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');

/**
 * Who serves which school, on what terms: the provider's side of avcare. Schools belong to
 * regions, service teams cover regions, a school's SLA comes from its contract (or its own
 * terms, or the defaults of shared/domain.md), and each room may have a timetable.
 */
export const serviceConfigSchema = z
  .strictObject({
    regions: z
      .array(z.strictObject({ id: configIdSchema, name: z.string().max(200).optional(), city: z.string().min(1).max(100).describe('for on-site targets: same city or not') }))
      .default([]),
    teams: z
      .array(
        z.strictObject({
          id: configIdSchema,
          name: z.string().max(200).optional(),
          regions: z.array(configIdSchema).min(1).describe('regions this team covers; a region covered twice goes to the first team listed'),
          city: z.string().min(1).max(100).optional().describe("the team's service point; default: its first region's city"),
        }),
      )
      .default([]),
    contracts: z.record(configIdSchema, slaPolicySchema).default({}).describe('named SLA policies that schools refer to'),
    defaults: z
      .strictObject({
        calendar: businessCalendarSchema.prefault({}),
        sla: slaPolicySchema.prefault({}),
        tickets: ticketPolicySchema.prefault({}),
        remoteSessions: remoteSessionPolicySchema.prefault({}),
      })
      .prefault({}),
    schools: z
      .array(
        z.strictObject({
          id: topicIdSchema,
          name: z.string().max(200).optional(),
          region: configIdSchema,
          city: z.string().min(1).max(100).optional().describe("default: the region's city"),
          contract: configIdSchema.optional().describe('one of contracts; default: defaults.sla'),
          sla: slaPolicySchema.optional().describe("the school's own terms, instead of a contract"),
          calendar: businessCalendarSchema.optional().describe('default: defaults.calendar'),
          tickets: ticketPolicySchema.optional().describe('default: defaults.tickets'),
          remoteSessions: remoteSessionPolicySchema.optional().describe('default: defaults.remoteSessions'),
          rooms: z.record(topicIdSchema, z.strictObject({ timetable: roomTimetableSchema })).default({}),
        }),
      )
      .default([]),
    webhooks: webhookEndpointsSchema.default([]),
  })
  .superRefine((config, context) => {
    const regions = new Set(config.regions.map((region) => region.id));
    const unique = (list: readonly { id: string }[], path: string): void => {
      const seen = new Set<string>();
      list.forEach((item, index) => {
        if (seen.has(item.id)) context.addIssue({ code: 'custom', path: [path, index, 'id'], message: `${item.id} is listed twice` });
        seen.add(item.id);
      });
    };
    unique(config.regions, 'regions');
    unique(config.teams, 'teams');
    unique(config.schools, 'schools');
    config.teams.forEach((team, index) =>
      team.regions.forEach((region, position) => {
        if (!regions.has(region)) context.addIssue({ code: 'custom', path: ['teams', index, 'regions', position], message: `no region ${region} in regions` });
      }),
    );
    config.schools.forEach((school, index) => {
      if (!regions.has(school.region)) context.addIssue({ code: 'custom', path: ['schools', index, 'region'], message: `no region ${school.region} in regions` });
      if (school.contract !== undefined && !(school.contract in config.contracts)) {
        context.addIssue({ code: 'custom', path: ['schools', index, 'contract'], message: `no contract ${school.contract} in contracts` });
      }
      if (school.contract !== undefined && school.sla !== undefined) {
        context.addIssue({ code: 'custom', path: ['schools', index, 'sla'], message: 'give either contract or sla, not both' });
      }
    });
  });

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type ServiceConfigInput = z.input<typeof serviceConfigSchema>;

/** A refusal names the file and every field that is wrong; secrets' values never appear. */
export function parseServiceConfig(input: unknown, source = 'the service configuration'): ServiceConfig {
  const parsed = serviceConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
  throw new AvcareError('CONFIG_INVALID', `${source} is invalid: ${problems.join('; ')}`, { problems });
}

export function loadServiceConfig(path: string): ServiceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read the service configuration ${path}: ${error instanceof Error ? error.message : String(error)}`, { path }, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AvcareError('CONFIG_INVALID', `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`, { path });
  }
  return parseServiceConfig(value, path);
}

/** The configuration as the ticket engine asks it: routing, timetables, policies, SLA terms. */
export function serviceDirectory(config: ServiceConfig): ServiceDirectory {
  const regions = new Map(config.regions.map((region) => [region.id, region]));
  const schools = new Map(config.schools.map((school) => [school.id, school]));
  const teamOfRegion = new Map<string, (typeof config.teams)[number]>();
  for (const team of config.teams) for (const region of team.regions) if (!teamOfRegion.has(region)) teamOfRegion.set(region, team);
  const policies = [config.defaults.tickets, ...config.schools.flatMap((school) => (school.tickets ? [school.tickets] : []))];

  const route = (schoolId: string): Route => {
    const school = schools.get(schoolId);
    if (!school) return { regionId: null, teamId: null };
    return { regionId: school.region, teamId: teamOfRegion.get(school.region)?.id ?? null };
  };

  return {
    route,
    teaching(schoolId: string, roomId: string, at: Date): TeachingNow | null {
      const timetable: RoomTimetable | undefined = schools.get(schoolId)?.rooms[roomId]?.timetable;
      if (!timetable) return null;
      const context = teachingContext(timetable, at);
      return { inLesson: context.inLesson, minutesToNextLesson: context.minutesToNextLesson };
    },
    policy: (schoolId) => schools.get(schoolId)?.tickets ?? config.defaults.tickets,
    remoteSessions: (schoolId) => schools.get(schoolId)?.remoteSessions ?? config.defaults.remoteSessions,
    policies: () => policies,
    terms(schoolId: string): SchoolTerms {
      const school = schools.get(schoolId);
      const sla = school?.sla ?? (school?.contract === undefined ? undefined : config.contracts[school.contract]) ?? config.defaults.sla;
      const region = school ? regions.get(school.region) : undefined;
      const team = school ? teamOfRegion.get(school.region) : undefined;
      const schoolCity = school?.city ?? region?.city;
      const teamCity = team?.city ?? (team?.regions[0] === undefined ? undefined : regions.get(team.regions[0])?.city);
      return { calendar: school?.calendar ?? config.defaults.calendar, sla, sameCity: schoolCity !== undefined && schoolCity === teamCity };
    },
    webhooks: () => config.webhooks,
    lessons: (schoolId, roomId) => (schools.get(schoolId)?.rooms[roomId]?.timetable.lessons ?? []).map(({ weekday, start, end }) => ({ weekday, start, end })),
    schoolName: (schoolId) => {
      const school = schools.get(schoolId);
      return school === undefined ? undefined : (school.name ?? null);
    },
    schoolsOfTeam(teamId: string): ReadonlySet<string> | undefined {
      const team = config.teams.find((candidate) => candidate.id === teamId);
      if (!team) return undefined;
      const covered = new Set(team.regions);
      return new Set(config.schools.filter((school) => covered.has(school.region)).map((school) => school.id));
    },
  };
}

export const EMPTY_SERVICE_CONFIG: ServiceConfig = parseServiceConfig({});

/** For the log: what was loaded, without secrets. */
export function summariseServiceConfig(config: ServiceConfig): Record<string, number> {
  return { regions: config.regions.length, teams: config.teams.length, schools: config.schools.length, contracts: Object.keys(config.contracts).length, webhooks: config.webhooks.length };
}

/** No regions, teams, timetables or webhooks: tickets open unrouted, with the defaults of shared/domain.md. */
export const EMPTY_DIRECTORY: ServiceDirectory = serviceDirectory(EMPTY_SERVICE_CONFIG);
