/**
 * `avcare-agent test network` end to end: the built cloud (embedded broker, reflector inside it)
 * and the built agent CLI, enrolled; signalling over the agent's authenticated MQTT connection,
 * media over real UDP, the result stored by the collector as a measurement.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../cloud/store/open-store.js';
import { agentKey } from '../../cloud/store/store.js';
import { CLOUD_CLI, enrollmentToken, eventually, operatorPasswordFile, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli, writeConfig } from '../helpers/run-cli.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function cloudWithAgent(startFlags: string[] = []) {
  const http = await freePort();
  const mqtt = await freePort();
  const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(http), '--mqtt-port', String(mqtt), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile(), ...startFlags], { env: { AVCARE_LOG_LEVEL: 'warn' } });
  cleanup.push(() => cloud.kill());
  await cloud.waitForOutput(/Ctrl-C stops/);
  const baseUrl = `http://127.0.0.1:${http}`;
  const store = await openStore(`sqlite:${join(cloud.cwd, 'avcare-data', 'avcare.db')}`);
  cleanup.push(() => store.close());
  const stateHome = mkdtempSync(join(tmpdir(), 'avcare-test-state-'));
  const enrolled = await runCli(['enroll', '--cloud', baseUrl, '--token', await enrollmentToken(baseUrl, 'sch-1'), '--room', 'r101'], { stateHome });
  expect(enrolled.code, enrolled.stderr).toBe(0);
  const [, schoolId = '', agentId = ''] = /agent (\S+):(\S+),/.exec(enrolled.stdout) ?? [];
  const config = writeConfig({ measure: { durationSeconds: 5 } });
  return { cloud, store, stateHome, config, baseUrl, mqttUrl: `mqtt://127.0.0.1:${mqtt}`, key: agentKey(schoolId, agentId), env: { AVCARE_CONFIG: config } };
}

interface JsonOutcome {
  ranIn: 'daemon' | 'here';
  status: string;
  result?: { test: string; rttMs: number | null; up: { lossPercent: number } | null; down: { lossPercent: number; framesPerSecond: number }; verdict: string };
  usage?: { cpuMs: number; maxRssBytes: number };
}

describe('avcare-agent test network against the cloud it is enrolled with', () => {
  it('runs with no flags, prints progress and a summary, and the cloud stores the result as a measurement', async () => {
    const { store, stateHome, env, key } = await cloudWithAgent();
    const text = await runCli(['test', 'network'], { stateHome, env, timeoutMs: 90_000 });
    expect(text.code, `${text.stdout}\n${text.stderr}`).toBe(0);
    expect(text.stdout).toMatch(/Asking the cloud for a test session/);
    expect(text.stdout).toMatch(/\d+\/5 s {3}round trip/);
    expect(text.stdout).toMatch(/Network test to reflector local: 5 s .* run by this command \(no agent running\)/);
    expect(text.stdout).toMatch(/Up \(PC to cloud\) {2}loss 0\.0%/);
    expect(text.stdout).toMatch(/Verdict {9}meets the targets/);
    // The cloud listens on loopback (--host 127.0.0.1), the throttling check's port on every address, as the media.
    expect(text.stdout).toMatch(/Throttling {5}none seen/);
    expect(text.stdout).toMatch(/The test used [\d.]+ s of CPU/);

    const stored = await eventually(async () => (await store.events(key, { limit: 50 })).find((event) => event.type === 'measurement'), 15_000, 'the measurement in the database');
    expect(stored.message).toMatchObject({ name: 'network', unit: 'MOS', details: { status: 'done', trigger: 'on-demand', result: { test: 'network', verdict: 'meets-targets' } } });
  }, 120_000);

  it('goes through the running agent when there is one (its MQTT connection is the only one the broker allows)', async () => {
    const { stateHome, env } = await cloudWithAgent();
    const daemon = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, STATE_DIRECTORY: stateHome, AVCARE_CONFIG: env.AVCARE_CONFIG, AVCARE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(() => {
      daemon.kill('SIGKILL');
    });
    await eventually(async () => ((await runCli(['doctor', '--json'], { stateHome, env })).stdout.includes('enrolled') ? true : undefined), 10_000, 'the daemon');
    await eventually(() => Promise.resolve(existsSync(join(stateHome, 'agent.sock')) ? true : undefined), 15_000, 'the control socket');
    const json = await runCli(['test', 'network', '--json'], { stateHome, env, timeoutMs: 90_000 });
    expect(json.code, json.stderr).toBe(0);
    const outcome = JSON.parse(json.stdout) as JsonOutcome;
    expect(outcome).toMatchObject({ ranIn: 'daemon', status: 'done', result: { test: 'network', verdict: 'meets-targets' } });
    expect(outcome.result?.up?.lossPercent).toBe(0);
    expect(outcome.result?.down.framesPerSecond).toBeGreaterThan(10);
    // The media stack ran in a child process: the daemon's own memory never held it.
    expect(outcome.usage?.maxRssBytes).toBeGreaterThan(50 * 1_048_576);
    // Progress went to stderr, so stdout stays parseable.
    expect(json.stderr).toMatch(/Asking the cloud for a test session/);
  }, 120_000);

  it('avsync: measures the pipeline and says why the room chain was not measured on a PC without camera, microphone or display', async () => {
    const { store, stateHome, env, key } = await cloudWithAgent();
    const text = await runCli(['test', 'avsync'], { stateHome, env: { ...env, DISPLAY: '' }, timeoutMs: 90_000 });
    expect(text.code, `${text.stdout}\n${text.stderr}`).toBe(0);
    expect(text.stdout).toMatch(/A\/V sync test \(pipeline mode\): 1[0-2] of 12 markers paired/);
    expect(text.stdout).toMatch(/Room chain {6}not measured: .*no display.*no camera: no video capture device/);

    const stored = await eventually(async () => (await store.events(key, { limit: 50 })).find((event) => event.type === 'measurement'), 15_000, 'the measurement in the database');
    expect(stored.message).toMatchObject({ name: 'avsync', details: { status: 'done', result: { test: 'avsync', mode: 'pipeline' } } });
    expect(JSON.stringify(stored.message)).toContain('"no camera: no video capture device (/dev/video*)"');
  }, 120_000);

  it('runs against a reflector in its own process, with the broker account an operator made for it (`avcare-cloud reflectors add`)', async () => {
    const { baseUrl, mqttUrl, stateHome, env } = await cloudWithAgent(['--no-reflector', '--agents-reflector', 'near-school']);
    const operator = { AVCARE_CLOUD_URL: baseUrl, AVCARE_TOKEN: await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD) };
    const files = mkdtempSync(join(tmpdir(), 'avcare-reflector-account-'));
    const add = runNodeEntry(CLOUD_CLI, ['reflectors', 'add', 'near-school', '--password-file', join(files, 'secret'), '--cloud-key-file', join(files, 'cloud-key.pem')], { env: operator });
    expect(await add.exited, add.stderr()).toBe(0);
    expect(add.stdout()).toContain(`avcare-cloud reflector --broker ${mqttUrl} --id near-school --user reflector:near-school --password-file ${join(files, 'secret')}`);
    expect(add.stdout()).not.toMatch(/avc_rs_/);

    const reflector = runNodeEntry(CLOUD_CLI, ['reflector', '--broker', mqttUrl, '--id', 'near-school', '--user', 'reflector:near-school', '--password-file', join(files, 'secret'), '--cloud-key', join(files, 'cloud-key.pem'), '--host', '127.0.0.1'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    cleanup.push(() => reflector.kill());
    await reflector.waitForOutput(/connected to the broker/);

    const json = await runCli(['test', 'network', '--json'], { stateHome, env, timeoutMs: 90_000 });
    expect(json.code, json.stderr).toBe(0);
    const outcome = JSON.parse(json.stdout) as JsonOutcome & { result?: { reflectorId: string } };
    expect(outcome).toMatchObject({ status: 'done', result: { test: 'network', reflectorId: 'near-school', verdict: 'meets-targets' } });

    const revoke = runNodeEntry(CLOUD_CLI, ['reflectors', 'revoke', 'near-school'], { env: operator });
    expect(await revoke.exited, revoke.stderr()).toBe(0);
    const list = runNodeEntry(CLOUD_CLI, ['reflectors', 'list'], { env: operator });
    expect(await list.exited).toBe(0);
    expect(list.stdout()).toContain('no reflector accounts');
  }, 120_000);
});
