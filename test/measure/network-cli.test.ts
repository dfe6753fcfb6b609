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
import { CLOUD_CLI, enrollmentToken, eventually, operatorPasswordFile, runNodeEntry } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli, writeConfig } from '../helpers/run-cli.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function cloudWithAgent() {
  const http = await freePort();
  const mqtt = await freePort();
  const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(http), '--mqtt-port', String(mqtt), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile()], { env: { AVCARE_LOG_LEVEL: 'warn' } });
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
  return { cloud, store, stateHome, config, key: agentKey(schoolId, agentId), env: { AVCARE_CONFIG: config } };
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
});
