import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import type { AgentMessage } from '../../protocol/index.js';
import { openStore } from '../../cloud/store/open-store.js';
import { agentKey, type Store } from '../../cloud/store/store.js';
import { CLOUD_CLI, enrollmentToken, operatorPasswordFile, runNodeEntry, type RunningProcess } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli } from '../helpers/run-cli.js';
import { until } from './recorder.js';

// The built `avcare-agent run` as systemd runs it, enrolled in the built cloud, killed the hard way; `npm test` builds both first.
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function runAgent(stateDir: string, extra: string[] = []): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, 'run', ...extra], {
    // STATE_DIRECTORY, not XDG_STATE_HOME: as root the agent would otherwise use /var/lib/avcare.
    env: { ...process.env, STATE_DIRECTORY: stateDir, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { output: () => output });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

interface Cloud {
  process: RunningProcess;
  baseUrl: string;
  store: Store;
}

/** The built cloud with its embedded broker (authentication on), in `cwd` so a restart keeps its data; its database opened for reading. */
async function startCloud(ports: { http: number; mqtt: number }, cwd?: string): Promise<Cloud> {
  const process = runNodeEntry(CLOUD_CLI, ['start', '--port', String(ports.http), '--mqtt-port', String(ports.mqtt), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile()], { env: { AVCARE_LOG_LEVEL: 'warn' }, ...(cwd ? { cwd } : {}) });
  cleanup.push(() => process.kill());
  await process.waitForOutput(/Ctrl-C stops/);
  const store = await openStore(`sqlite:${join(process.cwd, 'avcare-data', 'avcare.db')}`);
  cleanup.push(() => store.close());
  return { process, baseUrl: `http://127.0.0.1:${ports.http}`, store };
}

/** `avcare-agent enroll` on the PC, as the IT teacher runs it. */
async function enroll(cloud: Cloud, stateDir: string): Promise<string> {
  const result = await runCli(['enroll', '--cloud', cloud.baseUrl, '--token', await enrollmentToken(cloud.baseUrl, 'sch-1'), '--room', 'r101'], { stateHome: stateDir });
  expect(result.code, result.stderr).toBe(0);
  const id = /agent (sch-1:\S+),/.exec(result.stdout)?.[1];
  if (!id) throw new Error(`no agent id in: ${result.stdout}`);
  return id;
}

describe('avcare-agent run, enrolled, publishing to the cloud', () => {
  it('publishes status, inventory and health with outbox stats; after kill -9 the broker announces the loss as its last will', async () => {
    const cloud = await startCloud({ http: await freePort(), mqtt: await freePort() });
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-agent-state-'));
    const id = await enroll(cloud, stateDir);
    const [schoolId = '', agentId = ''] = id.split(':');
    const agent = runAgent(stateDir);
    const key = agentKey(schoolId, agentId);
    await expect.poll(async () => new Set((await cloud.store.events(key, { limit: 100 })).map((event) => event.type)).size, { timeout: 20_000 }).toBe(3);
    const stored = await cloud.store.events(key, { limit: 100 });
    expect(new Set(stored.map((event) => event.type))).toEqual(new Set(['status', 'inventory', 'health']));
    expect(stored.find((event) => event.type === 'health')?.message).toMatchObject({ schoolId, roomId: 'r101', outbox: { droppedHealth: 0, droppedOther: 0, droppedFaults: 0 } });
    expect(stored.filter((event) => event.seq !== null).map((event) => event.seq).slice(0, 2)).toEqual([1, 2]);

    agent.kill('SIGKILL');
    await exited(agent);
    await expect.poll(async () => (await cloud.store.getAgent(key))?.stateReason, { timeout: 10_000 }).toBe('connection lost');
    expect((await cloud.store.getAgent(key))?.state).toBe('offline');
  }, 60_000);

  it('sends the events a killed agent held unsent once it runs again and the cloud is there', async () => {
    const ports = { http: await freePort(), mqtt: await freePort() };
    const first = await startCloud(ports);
    const cwd = first.process.cwd;
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-agent-state-'));
    const id = await enroll(first, stateDir);
    first.process.child.kill('SIGTERM');
    await first.process.exited;

    // The cloud is down: the agent queues in its outbox, and is killed with events unsent.
    const file = outboxFile(stateDir);
    const offline = runAgent(stateDir);
    await until(() => existsSync(file), 20_000, 'the outbox file');
    const peek = new Outbox({ path: file, maxEvents: 100_000 });
    let held: AgentMessage[] = [];
    try {
      await until(() => peek.stats().pending >= 2, 20_000, 'unsent events');
      offline.kill('SIGKILL');
      await exited(offline);
      held = peek.next(1000).map((entry) => JSON.parse(entry.payload) as AgentMessage);
    } finally {
      peek.close();
    }
    expect(held.map((message) => message.type).sort()).toEqual(expect.arrayContaining(['health', 'inventory']));

    const again = await startCloud(ports, cwd);
    const second = runAgent(stateDir, ['--max-cycles', '1']);
    await exited(second);
    expect(second.exitCode, second.output()).toBe(0);
    const [schoolId = '', agentId = ''] = id.split(':');
    const key = agentKey(schoolId, agentId);
    await expect
      .poll(async () => {
        const ids = new Set((await again.store.events(key, { limit: 1000 })).map((event) => event.eventId));
        return held.every((message) => ids.has(message.eventId));
      }, { timeout: 10_000 })
      .toBe(true);
    const seqs = (await again.store.events(key, { limit: 1000 })).flatMap((event) => (event.seq === null ? [] : [event.seq]));
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThan(held.length);
    await expect.poll(async () => (await again.store.getAgent(key))?.stateReason, { timeout: 10_000 }).toBe('stopped');
  }, 90_000);
});
