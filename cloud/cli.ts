#!/usr/bin/env node
import { Command } from 'commander';
import { createLogger } from '../agent/log.js';
import { AGENT_VERSION } from '../agent/version.js';
import { AvcareError, reportCommandError } from '../protocol/index.js';
import { ACCEPTED_STORE_SPECS } from './store/open-store.js';
import { describeCloud, startCloud, stopOnSignals } from './main.js';
import { ticketsCommand } from './tickets-command.js';

interface StartFlags {
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
}

function buildProgram(): Command {
  const program = new Command('avcare-cloud')
    .description('The avcare cloud: MQTT broker (or a feed from one), collector, database and HTTP API for a fleet of classroom agents.')
    .version(AGENT_VERSION)
    .showHelpAfterError();

  program
    .command('start')
    .description('run the cloud in the foreground until SIGINT/SIGTERM')
    .option('--port <port>', 'HTTP API port (default 8080)')
    .option('--host <address>', 'address the HTTP API and the embedded broker listen on (default 0.0.0.0)')
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
    .action(async (flags: StartFlags) => {
      if (flags.broker === undefined && (flags.sharedGroup !== undefined || flags.collectorId !== undefined)) {
        throw new AvcareError('INVALID_ARGUMENT', '--shared-group and --collector-id apply to an external broker: give --broker too', { flags: ['--shared-group', '--collector-id'] });
      }
      if (flags.broker !== undefined && flags.mqttPort !== undefined) {
        throw new AvcareError('INVALID_ARGUMENT', '--mqtt-port sets the embedded broker, which --broker replaces: give one of them', { flags: ['--broker', '--mqtt-port'] });
      }
      const log = createLogger();
      const cloud = await startCloud({
        log,
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
        }),
        retention: defined({ rawHealthDays: flags.retentionRawDays, hourlyHealthDays: flags.retentionHourlyDays, eventDays: flags.retentionEventDays }),
      });
      process.stdout.write(`avcare cloud ${AGENT_VERSION} started\n${describeCloud(cloud)}\nCtrl-C stops.\n`);
      stopOnSignals(cloud, log, { onStopped: () => process.stdout.write('avcare cloud stopped\n') });
    });

  program.addCommand(ticketsCommand());

  return program;
}

/** Flags not given stay absent, so the option schema applies its defaults (exactOptionalPropertyTypes forbids undefined). */
function defined<T extends Record<string, string | undefined>>(values: T): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: string };
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  reportCommandError(error);
}
