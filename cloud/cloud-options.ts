import { isIP } from 'node:net';
import { DateTime } from 'luxon';
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
  tlsCert: z.string().min(1).optional().describe('Certificate chain (PEM): the API serves https and the embedded broker mqtts'),
  tlsKey: z.string().min(1).optional().describe('Private key (PEM) of tlsCert'),
  mqttsPort: portSchema.default(8883).describe('Port of the embedded broker\'s mqtts listener (with tlsCert)'),
  insecurePlaintext: z.boolean().default(false).describe('Accept passwords, tokens and enrollment over plain connections from other machines (trusted networks only)'),
  insecureOpenBroker: z.boolean().default(false).describe('Let anyone connect to the broker and publish as any agent (never in a school)'),
  brokerUser: z.string().min(1).max(256).optional().describe("With brokerUrl: the Mosquitto dynamic-security admin the cloud manages agents' access with"),
  brokerPasswordFile: z.string().min(1).optional().describe('File holding brokerUser\'s password (first line)'),
  brokerCaFile: z.string().min(1).optional().describe('CA certificate (PEM) to verify an mqtts:// external broker'),
  agentMqttUrl: z
    .string()
    .regex(/^mqtts?:\/\/[^/\s@]+$/, 'must be mqtt://HOST:PORT or mqtts://HOST:PORT, without credentials')
    .optional()
    .describe('The broker URL enrolled agents are told; default: the host they reached the API at, with the broker\'s port'),
  adminPasswordFile: z.string().min(1).optional().describe('Password of the first operator account, created on an empty database; default: a generated one-time password, printed once'),
  signingKey: z.string().min(1).optional().describe("The cloud's Ed25519 key (PEM); default <dataDir>/signing-key.pem, created when missing"),
  auditAnchorFile: z.string().min(1).optional().describe('Where audit heads are recorded besides the database; default <dataDir>/audit-anchors.jsonl'),
  auditAnchorSeconds: z.coerce.number().int().min(5).max(3600).default(60).describe('How often the audit head is recorded (5 to 3600 s)'),
  trustProxy: z
    .string()
    .transform((list) => list.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0))
    .pipe(z.array(z.string().refine(isAddressOrRange, { error: (issue) => `${String(issue.input)} is not an IP address or CIDR range (e.g. 127.0.0.1 or 10.0.0.0/8)` })).min(1, 'name at least one address'))
    .optional()
    .describe('Reverse proxies (comma-separated addresses or CIDR ranges) whose X-Forwarded-For names the client: sign-in limits and audit entries then use the client\'s address'),
  metricsTokenFile: z.string().min(1).optional().describe('File holding the read-only bearer token Prometheus sends for /metrics'),
  metricsListen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:9464')
    .optional()
    .describe('Also serve /metrics without a token on this address (a listener only Prometheus reaches)'),
  reflector: z
    .object({
      enabled: z.boolean().default(true).describe('Run a WebRTC reflector inside this process for agents\' network tests'),
      id: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
        .default('local')
        .describe('The name grants give this reflector'),
      announceAddress: z.string().min(1).max(253).optional().describe('The address agents reach the reflector at, when it is behind NAT (announced in ICE candidates)'),
      ports: z
        .string()
        .regex(/^\d{1,5}-\d{1,5}$/, 'must be MIN-MAX, e.g. 40000-40100')
        .refine((range) => {
          const [min = 0, max = 0] = range.split('-').map(Number);
          return min >= 1024 && max <= 65_535 && min <= max;
        }, 'must be a range within 1024-65535, lowest first')
        .optional()
        .describe('UDP ports the reflector\'s media may use (for a firewall rule); default: any'),
      probePort: portSchema.default(0).describe('TCP and UDP port of the throttling check (media-like UDP and bulk TCP); 0 lets the OS pick'),
      probeHost: z
        .string()
        .min(1)
        .max(253)
        .default('0.0.0.0')
        .describe("Address the throttling check's port listens on: every address by default, as the media does (ICE offers every address), whatever --host the API and broker use"),
      agentsUse: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
        .optional()
        .describe('The reflector grants name (one of its own process, near the schools); default: the one inside this process'),
    })
    .prefault({}),
  testSchedule: z
    .object({
      enabled: z.boolean().default(true).describe('Ask online agents to test on a schedule and before lessons'),
      everyMinutes: z.coerce.number({ error: 'must be a whole number of minutes from 5 to 1440' }).int().min(5).max(1440).default(30).describe('Minutes between scheduled tests of an agent, in school hours'),
      roomReadyMinutes: z.coerce.number({ error: 'must be a whole number of minutes from 1 to 60' }).int().min(1).max(60).default(10).describe('The room-ready check runs this many minutes before each lesson of the room\'s timetable'),
      duringLessons: z.boolean().default(false).describe('Also run scheduled tests while a lesson is on (they take up to 4 Mbit/s for seconds)'),
      schoolHours: z
        .string()
        .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM-HH:MM, e.g. 07:30-17:30')
        .default('07:30-17:30')
        .describe('When scheduled tests run, Monday to Friday, in schoolTimeZone'),
      schoolTimeZone: z
        .string()
        .refine((zone) => DateTime.now().setZone(zone).isValid, 'must be an IANA time zone such as Asia/Shanghai')
        .default('Asia/Shanghai'),
    })
    .prefault({}),
  retention: z
    .object({
      rawHealthDays: daysSchema(7, 365).describe('Raw health samples are folded into hourly averages after this many days'),
      hourlyHealthDays: daysSchema(90, 3650).describe('Hourly health averages are deleted after this many days'),
      eventDays: daysSchema(365, 3650).describe('Fault, inventory, status and measurement events are deleted after this many days'),
      auditDays: z.coerce
        .number({ error: 'must be a whole number of days from 365 to 36500' })
        .int()
        .min(365, 'must be at least 365: the audit log is kept at least a year')
        .max(36_500)
        .default(1095)
        .describe('Audit entries are deleted after this many days (at least a year; default 3 years)'),
    })
    .prefault({}),
})
  .superRefine((options, context) => {
    if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) context.addIssue({ code: 'custom', path: [options.tlsCert === undefined ? 'tlsCert' : 'tlsKey'], message: 'give both --tls-cert and --tls-key' });
    if ((options.brokerUser === undefined) !== (options.brokerPasswordFile === undefined)) {
      context.addIssue({ code: 'custom', path: [options.brokerUser === undefined ? 'brokerUser' : 'brokerPasswordFile'], message: 'give both --broker-user and --broker-password-file' });
    }
    if (options.brokerUrl !== undefined && options.brokerUser === undefined && !options.insecureOpenBroker) {
      context.addIssue({ code: 'custom', path: ['brokerUser'], message: "an external broker needs the dynamic-security admin the cloud manages agents' access with (--broker-user and --broker-password-file), or --insecure-open-broker" });
    }
    if (options.brokerUrl === undefined && (options.brokerUser !== undefined || options.brokerCaFile !== undefined)) {
      context.addIssue({ code: 'custom', path: ['brokerUser'], message: 'applies to an external broker: give --broker too' });
    }
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
  'retention.auditDays': '--audit-retention-days',
  tlsCert: '--tls-cert',
  tlsKey: '--tls-key',
  mqttsPort: '--mqtts-port',
  brokerUser: '--broker-user',
  brokerPasswordFile: '--broker-password-file',
  brokerCaFile: '--broker-ca',
  agentMqttUrl: '--agent-mqtt-url',
  adminPasswordFile: '--admin-password-file',
  signingKey: '--signing-key',
  auditAnchorFile: '--audit-anchor-file',
  auditAnchorSeconds: '--audit-anchor-seconds',
  trustProxy: '--trust-proxy',
  metricsTokenFile: '--metrics-token-file',
  metricsListen: '--metrics-listen',
  'reflector.enabled': '--no-reflector',
  'reflector.id': '--reflector-id',
  'reflector.announceAddress': '--reflector-address',
  'reflector.ports': '--reflector-ports',
  'reflector.agentsUse': '--agents-reflector',
  'reflector.probePort': '--reflector-probe-port',
  'reflector.probeHost': '--reflector-probe-host',
  'testSchedule.enabled': '--no-test-schedule',
  'testSchedule.everyMinutes': '--test-every',
  'testSchedule.roomReadyMinutes': '--room-ready-minutes',
  'testSchedule.duringLessons': '--tests-during-lessons',
  'testSchedule.schoolHours': '--school-hours',
  'testSchedule.schoolTimeZone': '--school-time-zone',
};

function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined || isIP(address) === 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (isIP(address) === 4 ? 32 : 128);
}

export function parseCloudOptions(input: CloudOptionsInput): CloudOptions {
  const parsed = cloudOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.filter((part) => typeof part === 'string').join('.');
    return `${CLOUD_FLAGS[path] ?? path}: ${issue.message}`;
  });
  throw new AvcareError('INVALID_ARGUMENT', problems.join('; '), { problems });
}
