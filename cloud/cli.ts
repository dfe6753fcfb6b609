#!/usr/bin/env node
import { Command } from 'commander';
import { createLogger } from '../protocol/log.js';
import { AVCARE_VERSION } from '../protocol/version.js';
import { reportCommandError } from '../protocol/index.js';
import { sessionCommands, usersCommand } from './cli/account-commands.js';
import { reflectorCommand } from './cli/reflector-command.js';
import { auditCommand } from './cli/audit-command.js';
import { agentsCommand, enrollTokensCommand } from './cli/enroll-commands.js';
import { reflectorsCommand } from './cli/reflectors-command.js';
import { startOptionsFrom, withStartOptions, type StartFlags } from './cli/start-options.js';
import { describeCloud, describeFirstRun } from './cli/describe-cloud.js';
import { ticketsCommand } from './cli/tickets-command.js';
import { remoteSessionCommand } from './cli/remote-session-command.js';

function buildProgram(): Command {
  const program = new Command('avcare-cloud')
    .description('The avcare cloud: MQTT broker (or a feed from one), collector, database and HTTP API for a fleet of classroom agents.')
    .version(AVCARE_VERSION)
    .showHelpAfterError();

  withStartOptions(program.command('start').description('run the cloud in the foreground until SIGINT/SIGTERM')).action(async (flags: StartFlags) => {
      const log = createLogger();
      // Only `start` needs the server (fastify, the brokers, the database drivers): the other
      // commands are a person's, and start in a third of the time without it.
      const { startCloud, stopOnSignals } = await import('./main.js');
      const cloud = await startCloud({ log, ...startOptionsFrom(flags) });
      // The one-time password goes to the terminal only, never to the log.
      process.stdout.write(`avcare cloud ${AVCARE_VERSION} started\n${describeCloud(cloud)}\n${describeFirstRun(cloud)}Ctrl-C stops.\n`);
      stopOnSignals(cloud, log, { onStopped: () => process.stdout.write('avcare cloud stopped\n') });
    });

  for (const command of sessionCommands()) program.addCommand(command);
  program.addCommand(usersCommand());
  program.addCommand(enrollTokensCommand());
  program.addCommand(agentsCommand());
  program.addCommand(ticketsCommand());
  program.addCommand(remoteSessionCommand());
  program.addCommand(auditCommand());
  program.addCommand(reflectorCommand());
  program.addCommand(reflectorsCommand());

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  reportCommandError(error);
}
