import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../cloud/store/open-store.js';
import { agentKey, type Store } from '../../cloud/store/store.js';
import { provisionedMosquitto, type ProvisionedMosquitto } from '../helpers/provisioned-mosquitto.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { payloadOf, SENDER, topicOf, validMessage } from './agent-traffic.js';

const COLLECTOR_PROCESS = resolve(import.meta.dirname, 'collector-process.ts');
/** Long enough that the kill lands while messages wait in the collector's batch. */
const BATCH_DELAY_MS = 150;

function startCollectorProcess(storeSpec: string, brokerUrl: string, collectorPassword: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', COLLECTOR_PROCESS, storeSpec, brokerUrl, String(BATCH_DELAY_MS)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AVCARE_TEST_COLLECTOR_PASSWORD: collectorPassword } });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready\n')) resolvePromise(child);
    });
    child.once('exit', (code) => reject(new Error(`collector process exited (${code}) before it was ready: ${output}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolvePromise) => child.once('exit', () => resolvePromise()));
  child.kill('SIGKILL');
  return exited;
}

describe.each(['sqlite', 'postgres'] as const)('collector process killed with SIGKILL mid-stream (Mosquitto with authentication, MQTT feed, %s)', (backend) => {
  let broker: ProvisionedMosquitto | undefined;
  let database: TestDatabase | undefined;
  let child: ChildProcess | undefined;
  let store: Store | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (child) await kill(child);
    await store?.close();
    await broker?.close();
    await database?.drop();
    database = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing and stores nothing twice: what was not acknowledged is redelivered to the restarted collector', async () => {
    broker = await provisionedMosquitto();
    const { mosquitto } = broker;
    const collectorAccount = await broker.collector('avcare-collector-sigkill');
    const agentAccount = await broker.agent(SENDER);
    dir = mkdtempSync(join(tmpdir(), 'avcare-sigkill-'));
    database = backend === 'postgres' ? await createTestDatabase() : undefined;
    const storeSpec = database ? database.url : `sqlite:${join(dir, 'avcare.db')}`;
    child = await startCollectorProcess(storeSpec, mosquitto.url, collectorAccount.password);
    store = await openStore(storeSpec);
    const readStore = store;

    const total = 1_500;
    const messages = Array.from({ length: total }, (_, index) => validMessage('health', SENDER, index + 1));
    const agent = await mqtt.connectAsync(mosquitto.url, { clientId: agentAccount.clientId, username: agentAccount.username, password: agentAccount.password, protocolVersion: 4 });
    let published = 0;
    // The second half waits for the kill: some messages always reach the broker while no collector
    // runs, also when a busy machine lets the publisher run far ahead of the collector.
    let markKilled!: () => void;
    const killed = new Promise<void>((resolveKilled) => (markKilled = resolveKilled));
    const publishing = (async () => {
      for (let start = 0; start < total; start += 50) {
        if (start === total / 2) await killed;
        await Promise.all(messages.slice(start, start + 50).map((message) => agent.publishAsync(topicOf(message), payloadOf(message), { qos: 1 })));
        published = start + 50;
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 5));
      }
    })();

    await expect.poll(() => readStore.countEvents(), { timeout: 10_000, interval: 5 }).toBeGreaterThan(200);
    // Halfway through the collector's batch delay: a batch is received but not yet committed.
    await new Promise((resolvePromise) => setTimeout(resolvePromise, BATCH_DELAY_MS / 2));
    const countAtKill = await readStore.countEvents();
    await kill(child);
    const publishedAtKill = published;
    markKilled();
    await publishing;
    await agent.endAsync();
    expect(countAtKill).toBeLessThan(total);
    expect(publishedAtKill).toBeLessThan(total);

    child = await startCollectorProcess(storeSpec, mosquitto.url, collectorAccount.password);
    await expect.poll(() => readStore.countEvents(), { timeout: 15_000 }).toBe(total);
    const stored = await readStore.events(agentKey(SENDER.schoolId, SENDER.agentId), { limit: total + 10 });
    expect(stored.map((event) => event.seq)).toEqual(messages.map((_, index) => index + 1));
  }, 40_000);
});
