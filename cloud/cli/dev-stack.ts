import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../../protocol/log.js';
import { AVCARE_VERSION } from '../../protocol/version.js';
import { isAvcareError, reportCommandError } from '../../protocol/index.js';
import { forgetLocalStack, writeLocalStack } from '../../protocol/local-stack.js';
import { runnableCommand } from '../../protocol/runnable-command.js';
import { osUserName } from './cli-session.js';
import { startOptionsFrom, withStartOptions, type StartFlags } from './start-options.js';
import { startCloud, stopOnSignals, type RunningCloud, type StartCloudOptions } from '../main.js';
import { describeCloud, describeFirstRun } from './describe-cloud.js';

/** The school the PC running `npm start` joins when the service configuration names none (and --school is not given). */
const LOCAL_SCHOOL = 'local';

/** The agent as installed users run it, next to this file in dist/. */
const AGENT_CLI = resolve(import.meta.dirname, '../../agent/cli.js');


interface StartedCloud {
  cloud: RunningCloud;
  /** Defaults that were taken by something else and what was used instead, for the person at the terminal. */
  substitutions: string[];
}

/**
 * `npm start`: the cloud (embedded broker, SQLite under ./avcare-data) and an agent for this PC
 * publishing to it, in one terminal. Ports given on the command line are used or refused; the
 * defaults fall back to free ports, because a developer's machine often runs its own Mosquitto on
 * 1883 or some server on 8080.
 */
async function runDevStack(flags: StartFlags & { school?: string }): Promise<void> {
  // The terminal belongs to the agent's readable output; the cloud speaks only of problems.
  const log = createLogger({ level: process.env.AVCARE_LOG_LEVEL ?? 'warn' });
  const data = flags.data ?? './avcare-data';
  const { cloud, substitutions } = await startWithFallback(
    { log, ...startOptionsFrom({ ...flags, host: flags.host ?? '127.0.0.1', data }), httpPort: flags.port ?? 8080, mqttPort: flags.mqttPort ?? 1883 },
    { httpPortChosen: flags.port !== undefined, mqttPortChosen: flags.mqttPort !== undefined || flags.broker !== undefined },
  );

  const cloudCli = runnableCommand('avcare-cloud');
  process.stdout.write(`avcare ${AVCARE_VERSION}: cloud and an agent for this PC\n${describeCloud(cloud)}\n`);
  for (const line of substitutions) process.stdout.write(`  note: ${line}\n`);
  const cloudUrl = cloud.httpUrl.replace(/\/$/, '');
  process.stdout.write(
    `\n${describeFirstRun(cloud) || `Sign in as operator with the password you chose: ${cloudCli} login --url ${cloudUrl} --user operator\n(forgotten? ${cloudCli} users recover operator --data ${data})\n`}`,
  );

  // This PC's agent joins the local school the way any PC does: an enrollment token, then `avcare-agent enroll`.
  // Its state (identity, outbox) stays in the data folder unless the environment names a state directory.
  const agentEnv = { ...process.env, STATE_DIRECTORY: process.env.STATE_DIRECTORY ?? resolve(data, 'agent-state') };
  // A school the service configuration knows, so its team's engineers serve this PC as they would a classroom's.
  const school = flags.school ?? cloud.service.schoolIds[0] ?? LOCAL_SCHOOL;
  const { token } = await cloud.security.enrollTokens.create({ schoolId: school, uses: 1, ttlHours: 1, label: 'npm start: this PC' }, { actor: `local:${osUserName()}`, source: null });
  const enrolled = await runToEnd(process.execPath, [AGENT_CLI, 'enroll', '--cloud', cloudUrl, '--token', token, '--json'], agentEnv);
  if (enrolled.code !== 0) {
    await cloud.stop();
    throw new Error(`enrolling this PC's agent failed:\n${enrolled.output}`);
  }
  const agentId = /"agentId": "([^"]+)"/.exec(enrolled.output)?.[1] ?? '?';
  // The PC-side commands (consent, doctor, test, report, probe) find this agent through the note.
  const note = writeLocalStack({ version: 1, stateDir: agentEnv.STATE_DIRECTORY, cloudUrl, pid: process.pid, startedAt: new Date().toISOString() });
  const agentCli = runnableCommand('avcare-agent');
  const which = flags.school === undefined && cloud.service.schoolIds.length > 0 ? ' (the first school of the service configuration; --school chooses another)' : '';
  process.stdout.write(
    [
      `This PC's agent ${school}:${agentId} is enrolled in school "${school}"${which}.`,
      `  its state: ${agentEnv.STATE_DIRECTORY}; ${agentCli} doctor, consent, test and report find it through ${note}`,
      '',
    ].join('\n'),
  );

  // --broker: the enrolled URL names the port this cloud took, which a later start may not get again (an external broker's is what enrollment gave).
  const agentArgs = [AGENT_CLI, 'run', '--pretty', ...(cloud.mqtt.mode === 'embedded' ? ['--broker', cloud.mqtt.url] : [])];
  process.stdout.write(`Starting the agent: node ${agentArgs.map((arg) => (arg === AGENT_CLI ? 'dist/agent/cli.js' : arg)).join(' ')}\nCtrl-C stops both.\n\n`);
  const agent = spawn(process.execPath, agentArgs, { stdio: ['ignore', 'inherit', 'inherit'], env: agentEnv });
  const agentExited = new Promise<number>((resolveExit) => {
    agent.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    agent.once('error', (error) => {
      log.error({ err: error }, 'the agent could not be started');
      resolveExit(1);
    });
  });

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    // The agent first: its clean stop publishes "offline, stopped" through the broker while the cloud still stores it.
    await stopChild(agent, agentExited, 10_000);
    await cloud.stop();
    forgetLocalStack(process.pid);
  };
  stopOnSignals({ stop: stopAll }, log, { forceAfterMs: 25_000, onStopped: () => process.stdout.write('\navcare stopped (cloud and agent)\n') });

  const code = await agentExited;
  if (stopping) return;
  process.stderr.write(`\nthe agent exited on its own (code ${code}); stopping the cloud\n`);
  await cloud.stop();
  forgetLocalStack(process.pid);
  process.exitCode = code === 0 ? 1 : code;
}

async function startWithFallback(options: StartCloudOptions & { httpPort: number | string; mqttPort: number | string }, chosen: { httpPortChosen: boolean; mqttPortChosen: boolean }): Promise<StartedCloud> {
  const attempt = { ...options };
  // At most one retry per port: a refusal of port 0 is not a taken port, so it is thrown.
  for (;;) {
    try {
      const cloud = await startCloud(attempt);
      const substitutions: string[] = [];
      if (attempt.httpPort !== options.httpPort) substitutions.push(`port ${options.httpPort} is already in use: the HTTP API took ${cloud.httpPort} instead`);
      if (attempt.mqttPort !== options.mqttPort && cloud.mqtt.mode === 'embedded') {
        substitutions.push(`port ${options.mqttPort} is already in use (another MQTT broker?): the embedded broker took ${cloud.mqtt.port} instead`);
      }
      return { cloud, substitutions };
    } catch (error) {
      const flag = takenPortFlag(error);
      if (flag === '--port' && !chosen.httpPortChosen && attempt.httpPort !== 0) attempt.httpPort = 0;
      else if (flag === '--mqtt-port' && !chosen.mqttPortChosen && attempt.mqttPort !== 0) attempt.mqttPort = 0;
      else throw error;
    }
  }
}

/** Runs a command to its end, its output kept for an error message (the enrollment secret is not in it). */
function runToEnd(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error) => resolveRun({ code: 1, output: error.message }));
    child.once('exit', (code) => resolveRun({ code: code ?? 1, output }));
  });
}

/** The flag of a port refused as in use (explainListenError's context), or undefined for any other failure. */
function takenPortFlag(error: unknown): string | undefined {
  if (!isAvcareError(error)) return undefined;
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  return cause?.code === 'EADDRINUSE' && typeof error.context.flag === 'string' ? error.context.flag : undefined;
}

async function stopChild(child: ChildProcess, exited: Promise<number>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolveLate) => (timer = setTimeout(() => resolveLate('late'), graceMs)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

const program = withStartOptions(
  new Command('avcare-dev-stack').description(
    "npm start: the avcare cloud and an agent for this PC, on one machine. Takes avcare-cloud start's options (npm start -- --service FILE); it listens on 127.0.0.1 unless --host says otherwise, and a default port that is taken is replaced by a free one",
  ),
  { host: '127.0.0.1' },
)
  .option('--school <id>', "the school this PC's agent joins (default: the first school of the service configuration, else \"local\")")
  .action(runDevStack);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  reportCommandError(error);
}
