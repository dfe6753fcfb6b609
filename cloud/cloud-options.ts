import { z } from 'zod';
import { AvcareError } from '../protocol/index.js';

const portSchema = z.coerce.number({ error: 'must be a port number from 0 to 65535' }).int().min(0).max(65_535).describe('TCP port; 0 lets the OS pick a free one');
const daysSchema = (fallback: number, max: number) => z.coerce.number({ error: `must be a whole number of days from 1 to ${max}` }).int().min(1).max(max).default(fallback);

/** What `avcare-cloud start` (and `npm start`) configure; every range lives here, not in help text. */
export const cloudOptionsSchema = z.object({
  httpPort: portSchema.default(8080).describe('HTTP API port'),
  host: z.string().min(1).default('0.0.0.0').describe('Address the HTTP API and the embedded broker listen on'),
  mqttPort: portSchema.default(1883).describe('Port of the embedded MQTT broker (ignored with brokerUrl)'),
  brokerUrl: z
    .string()
    .regex(/^mqtts?:\/\/[^/]+/, 'must be mqtt://HOST:PORT or mqtts://HOST:PORT')
    .optional()
    .describe('An external broker to subscribe to instead of running the embedded one'),
  collectorId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .default('avcare-collector')
    .describe('MQTT client id of the collector at an external broker; each collector of a shared group needs its own'),
  sharedGroup: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .optional()
    .describe('Share the stream among the collectors of this group (MQTT shared subscription, $share/GROUP/...)'),
  serviceConfig: z.string().min(1).optional().describe('JSON file: regions, teams, schools (calendars, timetables, SLA contracts), webhooks'),
  dataDir: z.string().min(1).default('./avcare-data').describe('Folder for the SQLite database (created when missing)'),
  db: z.string().min(1).optional().describe('sqlite:PATH or postgres://...; default sqlite:<dataDir>/avcare.db'),
  retention: z
    .object({
      rawHealthDays: daysSchema(7, 365).describe('Raw health samples are folded into hourly averages after this many days'),
      hourlyHealthDays: daysSchema(90, 3650).describe('Hourly health averages are deleted after this many days'),
      eventDays: daysSchema(365, 3650).describe('Fault, inventory, status and measurement events are deleted after this many days'),
    })
    .prefault({}),
});

export type CloudOptions = z.infer<typeof cloudOptionsSchema>;
export type CloudOptionsInput = z.input<typeof cloudOptionsSchema>;

/** The command-line flag of each option, so a refusal names what the user typed. */
export const CLOUD_FLAGS: Record<string, string> = {
  httpPort: '--port',
  host: '--host',
  mqttPort: '--mqtt-port',
  brokerUrl: '--broker',
  collectorId: '--collector-id',
  sharedGroup: '--shared-group',
  serviceConfig: '--service',
  dataDir: '--data',
  db: '--db',
  'retention.rawHealthDays': '--retention-raw-days',
  'retention.hourlyHealthDays': '--retention-hourly-days',
  'retention.eventDays': '--retention-event-days',
};

export function parseCloudOptions(input: CloudOptionsInput): CloudOptions {
  const parsed = cloudOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${CLOUD_FLAGS[path] ?? path}: ${issue.message}`;
  });
  throw new AvcareError('INVALID_ARGUMENT', problems.join('; '), { problems });
}
