import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonStateFile } from '../agent/daemon-state.js';
import { recentLogFile } from '../agent/recent-log.js';
import { Outbox, outboxFile } from '../agent/transport/outbox.js';
import { agentMessageSchema, reportMessageSchema, topicFilter, type ReportMessage } from '../protocol/index.js';
import { freePort } from './helpers/free-port.js';
import { startMosquitto } from './helpers/mosquitto.js';
import { CLI, runCli, writeConfig } from './helpers/run-cli.js';
import { until } from './transport/recorder.js';

// The built `avcare-agent report` as a teacher runs it, against a Mosquitto of the test's own.
const BROKER_PASSWORD = 'Br0ker-S3cret-pw';
const PJLINK_PASSWORD = 'classroom42';
const IDS = { schoolId: 'sch-rep', roomId: 'r204', agentId: 'pc-07' };

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Raw {
  topic: string;
  payload: string;
}

/** A raw MQTT.js subscriber on every avcare topic: payloads kept as received, to search for secrets. */
async function subscribe(url: string): Promise<{ received: Raw[]; reports: () => ReportMessage[] }> {
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 200 });
  cleanup.push(() => client.endAsync(true));
  const received: Raw[] = [];
  client.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync(topicFilter('+'), { qos: 1 });
  return {
    received,
    reports: () => received.filter((r) => r.topic.endsWith('/report')).map((r) => reportMessageSchema.parse(agentMessageSchema.parse(JSON.parse(r.payload)))),
  };
}

async function broker() {
  const started = await startMosquitto();
  cleanup.push(() => started.stop());
  return started;
}

/** The agent's configuration with a broker login and a projector password, both of which must stay on the PC. */
function configFor(url: string, projectorPort: number): string {
  return writeConfig({ ...IDS, broker: { url, username: 'agent', password: BROKER_PASSWORD }, pjlink: [{ host: '127.0.0.1', port: projectorPort, password: PJLINK_PASSWORD }], probeTimeoutSeconds: 3 });
}

function stateDir(): string {
  return mkdtempSync(join(tmpdir(), 'avcare-report-state-'));
}

function unsentReports(state: string): ReportMessage[] {
  const outbox = new Outbox({ path: outboxFile(state), maxEvents: 1000 });
  try {
    return outbox.next(1000).flatMap((entry) => (entry.kind === 'report' ? [reportMessageSchema.parse(JSON.parse(entry.payload))] : []));
  } finally {
    outbox.close();
  }
}

function runAgent(config: string, state: string): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, '-c', config, 'run'], { env: { ...process.env, STATE_DIRECTORY: state, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cleanup.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  return Object.assign(child, { output: () => output });
}

describe('avcare-agent report', () => {
  it('sends the teacher\'s words with the diagnostic bundle to the broker, and no secret anywhere in it', async () => {
    const mosquitto = await broker();
    const subscriber = await subscribe(mosquitto.url);
    const state = stateDir();
    // Lines an earlier agent left in the shared recent log, secrets and all: the excerpt must not carry them.
    writeFileSync(
      recentLogFile(state),
      [
        `2026-11-23T07:58:00.000Z WARN pjlink: login to 127.0.0.1 with ${PJLINK_PASSWORD} refused`,
        `2026-11-23T07:59:00.000Z INFO agent: connecting to mqtt://agent:${BROKER_PASSWORD}@cloud.example:1883 password=${BROKER_PASSWORD}`,
        '',
      ].join('\n'),
    );
    // Nothing listens on the projector's port: the projector refuses PJLink (PJLINK_REFUSED).
    const config = configFor(mosquitto.url, await freePort());

    const result = await runCli(['-c', config, 'report', 'projector flickers', '--by', 'teacher-li'], { stateHome: state });
    expect(result.code, result.stderr).toBe(0);
    await until(() => subscriber.reports().length === 1, 5000, 'the report at the subscriber');
    const [report] = subscriber.reports();
    expect(report).toMatchObject({ ...IDS, type: 'report', text: 'projector flickers', reporter: 'teacher-li', seq: 1 });
    expect(result.stdout).toContain('Your report was sent');
    expect(result.stdout).toContain(`Report id: ${report?.eventId}`);

    const bundle = report?.bundle;
    // No USB bus on this machine: an inventory all the same, with the reason next to it.
    expect(Array.isArray(bundle?.inventory)).toBe(true);
    expect(bundle?.inventory.find((device) => device.kind === 'projector')?.status).toBe('unreachable');
    expect(bundle?.sources.find((source) => source.source === 'usb')?.state).toBe('unavailable');
    expect(bundle?.system?.agentVersion).toBeDefined();
    expect(bundle?.recentHealth).toHaveLength(1);
    expect(bundle?.faultsFrom).toBe('probe');
    expect(bundle?.openFaults.map((fault) => fault.code)).toContain('PJLINK_REFUSED');
    expect(bundle?.logExcerpt.slice(0, 2)).toEqual([
      '2026-11-23T07:58:00.000Z WARN pjlink: login to 127.0.0.1 with [redacted] refused',
      '2026-11-23T07:59:00.000Z INFO agent: connecting to mqtt://[redacted]@cloud.example:1883 password=[redacted]',
    ]);
    for (const { payload } of subscriber.received) {
      expect(payload).not.toContain(BROKER_PASSWORD);
      expect(payload).not.toContain(PJLINK_PASSWORD);
    }
    // A report is not the agent coming online: the status topic is left to the daemon.
    expect(subscriber.received.filter((r) => r.topic.endsWith('/status'))).toEqual([]);
    expect(unsentReports(state)).toEqual([]);
  }, 40_000);

  it('with the broker unreachable, says the report is queued and exits 0; the agent sends it once the broker is there', async () => {
    const state = stateDir();
    const port = await freePort();
    const projector = await freePort();
    const result = await runCli(['-c', configFor(`mqtt://127.0.0.1:${port}`, projector), 'report', 'no', 'sound', 'from', 'the', 'speakers', '--json'], { stateHome: state });
    expect(result.code, result.stderr).toBe(0);
    const outcome = JSON.parse(result.stdout) as { reportId: string; status: string; delivery: string; brokerError?: string };
    expect(outcome).toMatchObject({ status: 'queued', delivery: 'next-run' });
    expect(outcome.brokerError).toMatch(/ECONNREFUSED/);
    const queued = unsentReports(state);
    expect(queued.map((report) => [report.eventId, report.text])).toEqual([[outcome.reportId, 'no sound from the speakers']]);

    const human = await runCli(['-c', configFor(`mqtt://127.0.0.1:${port}`, projector), 'report', 'still no sound'], { stateHome: state });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/cannot be reached right now, so your report is saved on this PC/);
    expect(human.stdout).toMatch(/^Report id: [0-9a-f-]{36}$/m);

    const mosquitto = await broker();
    const subscriber = await subscribe(mosquitto.url);
    const agent = runAgent(configFor(mosquitto.url, projector), state);
    await until(() => subscriber.reports().length === 2, 20_000, 'both queued reports, sent by the agent');
    expect(subscriber.reports().map((report) => report.text)).toEqual(['no sound from the speakers', 'still no sound']);
    await until(() => unsentReports(state).length === 0, 5000, 'the outbox to let go of the reports');
    expect(agent.exitCode).toBeNull();
  }, 60_000);

  it('hands the report to the running agent, which sends it and supplies its raised faults', async () => {
    const mosquitto = await broker();
    const subscriber = await subscribe(mosquitto.url);
    const state = stateDir();
    const config = configFor(mosquitto.url, await freePort());
    const agent = runAgent(config, state);
    await until(() => existsSync(daemonStateFile(state)) && subscriber.received.some((r) => r.topic.endsWith('/inventory')), 20_000, 'the agent to publish');

    const result = await runCli(['-c', config, 'report', '--json', 'the camera is dark'], { stateHome: state });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'sent', delivery: 'daemon' });
    await until(() => subscriber.reports().length === 1, 5000, 'the report');
    expect(subscriber.reports()[0]?.bundle.faultsFrom).toBe('daemon');
    // Only the agent's own connection announced itself; the report did not replace it.
    expect(subscriber.received.filter((r) => r.topic.endsWith('/status')).map((r) => (JSON.parse(r.payload) as { state: string }).state)).toEqual(['online']);
    expect(agent.exitCode, agent.output()).toBeNull();
  }, 60_000);

  it('refuses an empty report or one too long, naming the problem, before probing anything', async () => {
    const empty = await runCli(['report', '  ']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('REPORT_INVALID');
    expect(empty.stderr).toMatch(/report is empty/);
    const long = await runCli(['report', 'x'.repeat(2001)]);
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/2001 characters long; at most 2000/);
    expect(long.stdout).toBe('');
  });

  it('refuses a report from a PC with no connection to any cloud, saying where it looked and what to do, and keeps nothing', async () => {
    const state = stateDir();
    const result = await runCli(['report', 'the projector flickers'], { stateHome: state });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error [AGENT_NOT_ENROLLED]: this PC is not connected to an avcare cloud (no enrollment in ${state} and no broker in its configuration), so the report could go nowhere; nothing was saved`);
    expect(result.stderr).toContain('hint: Enroll this PC');
    expect(result.stdout).not.toMatch(/saved|sent/i);
    expect(existsSync(join(state, 'outbox.sqlite'))).toBe(false);
  });

  it('consent and doctor say where they looked for the agent when there is none', async () => {
    const state = stateDir();
    const consent = await runCli(['consent', 'list'], { stateHome: state });
    expect(consent.stdout).toContain(`No agent is enrolled on this PC (looked in ${state}), so there are no remote sessions.`);
    const doctor = await runCli(['doctor'], { stateHome: state });
    expect(doctor.stdout).toMatch(new RegExp(`Enrollment\\s+this PC is not enrolled \\(looked in ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
  });
});
