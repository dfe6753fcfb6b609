import { Command } from 'commander';
import { AvcareError } from '../../protocol/index.js';
import type { StartCloudOptions } from '../main.js';
import { ACCEPTED_STORE_SPECS } from '../store/store-spec.js';

/** The flags of `avcare-cloud start`, as commander hands them over (strings, or booleans for switches). */
export interface StartFlags {
  port?: string;
  host?: string;
  mqttPort?: string;
  broker?: string;
  collectorId?: string;
  sharedGroup?: string;
  db?: string;
  data?: string;
  service?: string;
  retentionRawDays?: string;
  retentionHourlyDays?: string;
  retentionEventDays?: string;
  auditRetentionDays?: string;
  tlsCert?: string;
  tlsKey?: string;
  mqttsPort?: string;
  insecurePlaintext?: boolean;
  insecureOpenBroker?: boolean;
  brokerUser?: string;
  brokerPasswordFile?: string;
  brokerCa?: string;
  agentMqttUrl?: string;
  adminPasswordFile?: string;
  signingKey?: string;
  auditAnchorFile?: string;
  auditAnchorSeconds?: string;
  metricsTokenFile?: string;
  metricsListen?: string;
  trustProxy?: string;
  reflector?: boolean;
  reflectorId?: string;
  reflectorAddress?: string;
  reflectorPorts?: string;
  reflectorProbePort?: string;
  reflectorProbeHost?: string;
  testSchedule?: boolean;
  testEvery?: string;
  roomReadyMinutes?: string;
  testsDuringLessons?: boolean;
  schoolHours?: string;
  schoolTimeZone?: string;
  agentsReflector?: string;
}

/**
 * The options of `avcare-cloud start`, for it and for `npm start` alike (which starts the same
 * cloud, with an agent beside it): one list, so `npm start -- --service FILE` takes what
 * `avcare-cloud start --service FILE` takes.
 */
export function withStartOptions(command: Command, defaults: { host: string } = { host: '0.0.0.0' }): Command {
  return command
    .option('--port <port>', 'HTTP API port (default 8080)')
    .option('--host <address>', `address the HTTP API and the embedded broker listen on (default ${defaults.host}${defaults.host === '0.0.0.0' ? '' : '; 0.0.0.0 lets other PCs connect, over https: see --tls-cert'})`)
    .option('--mqtt-port <port>', 'port of the embedded MQTT broker (default 1883)')
    .option('--broker <url>', 'use an external broker (mqtt://HOST:PORT or mqtts://) instead of the embedded one')
    .option('--collector-id <id>', 'MQTT client id at the external broker (default avcare-collector); one per collector')
    .option('--shared-group <name>', 'with --broker: share the stream among the collectors of this group (several processes, one database)')
    .option('--db <spec>', `database: ${ACCEPTED_STORE_SPECS} (default sqlite:<data>/avcare.db)`)
    .option('--service <file>', 'service configuration (JSON): regions, teams, schools with calendars, timetables and SLA contracts, webhooks')
    .option('--data <dir>', 'data folder, created when missing (default ./avcare-data)')
    .option('--retention-raw-days <n>', 'days raw health samples are kept before being folded into hourly averages (default 7)')
    .option('--retention-hourly-days <n>', 'days hourly health averages are kept (default 90)')
    .option('--retention-event-days <n>', 'days fault, inventory, status and measurement events are kept (default 365)')
    .option('--audit-retention-days <n>', 'days audit entries are kept (at least 365; default 1095)')
    .option('--tls-cert <file>', 'certificate chain (PEM): the API serves https and the embedded broker mqtts')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option('--mqtts-port <port>', 'port of the embedded broker\'s mqtts listener (default 8883)')
    .option('--insecure-plaintext', 'accept passwords, tokens and enrollment over plain http/mqtt from other machines (trusted networks only)')
    .option('--insecure-open-broker', 'let ANY client connect to the broker and publish as any agent (never in a school; logged at every start)')
    .option('--broker-user <name>', "with --broker: the Mosquitto dynamic-security admin the cloud manages agents' access with")
    .option('--broker-password-file <file>', 'file holding --broker-user\'s password (first line)')
    .option('--broker-ca <file>', 'CA certificate (PEM) to verify an mqtts:// --broker')
    .option('--agent-mqtt-url <url>', 'the broker URL enrolled agents are told (default: the host they reached the API at, with the broker\'s port)')
    .option('--admin-password-file <file>', 'on an empty database: the first operator\'s password (default: a one-time password, printed once)')
    .option('--signing-key <file>', "the cloud's Ed25519 key (default <data>/signing-key.pem, created when missing)")
    .option('--audit-anchor-file <file>', 'audit heads are recorded here besides the database (default <data>/audit-anchors.jsonl)')
    .option('--audit-anchor-seconds <n>', 'how often the audit head is recorded (default 60)')
    .option('--trust-proxy <addresses>', 'reverse proxies (comma-separated addresses or CIDR ranges) whose X-Forwarded-For names the client, e.g. 127.0.0.1')
    .option('--metrics-token-file <file>', 'file holding the read-only bearer token Prometheus sends for /metrics')
    .option('--metrics-listen <host:port>', 'also serve /metrics without a token on this address only')
    .option('--no-reflector', "run no WebRTC reflector in this process (agents' network tests then use --agents-reflector)")
    .option('--reflector-id <name>', 'the name grants give the reflector of this process (default local)')
    .option('--reflector-address <address>', 'the address agents reach the reflector at, when it is behind NAT')
    .option('--reflector-ports <min-max>', "UDP ports the reflector's media may use, e.g. 40000-40100 (default: any)")
    .option('--reflector-probe-port <port>', 'TCP and UDP port of the throttling check (default: one the OS picks)')
    .option('--reflector-probe-host <address>', "address the throttling check's port listens on (default: every address, as the media does)")
    .option('--no-test-schedule', 'do not ask agents to test on a schedule or before lessons')
    .option('--test-every <minutes>', 'minutes between scheduled tests of an agent in school hours (default 30)')
    .option('--room-ready-minutes <n>', 'the room-ready check runs this many minutes before each lesson (default 10)')
    .option('--tests-during-lessons', 'also run scheduled tests while a lesson is on')
    .option('--school-hours <HH:MM-HH:MM>', 'when scheduled tests run, Monday to Friday (default 07:30-17:30)')
    .option('--school-time-zone <zone>', 'time zone of --school-hours (default Asia/Shanghai)')
    .option('--agents-reflector <name>', 'send agents to the reflector of this name (one started with `avcare-cloud reflector`) instead of this process\'s');
}

/** The flags as the cloud's options; a flag not given stays absent, so the option schema applies its default. */
export function startOptionsFrom(flags: StartFlags): Omit<StartCloudOptions, 'log'> {
  if (flags.broker === undefined && (flags.sharedGroup !== undefined || flags.collectorId !== undefined)) {
    throw new AvcareError('INVALID_ARGUMENT', '--shared-group and --collector-id apply to an external broker: give --broker too', { flags: ['--shared-group', '--collector-id'] });
  }
  if (flags.broker !== undefined && flags.mqttPort !== undefined) {
    throw new AvcareError('INVALID_ARGUMENT', '--mqtt-port sets the embedded broker, which --broker replaces: give one of them', { flags: ['--broker', '--mqtt-port'] });
  }
  return {
    ...defined({
      httpPort: flags.port,
      host: flags.host,
      mqttPort: flags.mqttPort,
      brokerUrl: flags.broker,
      collectorId: flags.collectorId,
      sharedGroup: flags.sharedGroup,
      db: flags.db,
      dataDir: flags.data,
      serviceConfig: flags.service,
      tlsCert: flags.tlsCert,
      tlsKey: flags.tlsKey,
      mqttsPort: flags.mqttsPort,
      brokerUser: flags.brokerUser,
      brokerPasswordFile: flags.brokerPasswordFile,
      brokerCaFile: flags.brokerCa,
      agentMqttUrl: flags.agentMqttUrl,
      adminPasswordFile: flags.adminPasswordFile,
      signingKey: flags.signingKey,
      auditAnchorFile: flags.auditAnchorFile,
      auditAnchorSeconds: flags.auditAnchorSeconds,
      metricsTokenFile: flags.metricsTokenFile,
      metricsListen: flags.metricsListen,
      trustProxy: flags.trustProxy,
    }),
    insecurePlaintext: flags.insecurePlaintext === true,
    insecureOpenBroker: flags.insecureOpenBroker === true,
    reflector: { enabled: flags.reflector !== false, ...defined({ id: flags.reflectorId, announceAddress: flags.reflectorAddress, ports: flags.reflectorPorts, probePort: flags.reflectorProbePort, probeHost: flags.reflectorProbeHost, agentsUse: flags.agentsReflector }) },
    testSchedule: {
      enabled: flags.testSchedule !== false,
      duringLessons: flags.testsDuringLessons === true,
      ...defined({ everyMinutes: flags.testEvery, roomReadyMinutes: flags.roomReadyMinutes, schoolHours: flags.schoolHours, schoolTimeZone: flags.schoolTimeZone }),
    },
    retention: defined({ rawHealthDays: flags.retentionRawDays, hourlyHealthDays: flags.retentionHourlyDays, eventDays: flags.retentionEventDays, auditDays: flags.auditRetentionDays }),
  };
}

/** Flags not given stay absent, so the option schema applies its defaults (exactOptionalPropertyTypes forbids undefined). */
function defined<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}
