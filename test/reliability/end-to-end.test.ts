/**
 * Issue 3, reliability points 1 and 5: agent outbox and transport -> own Mosquitto -> collector
 * feed -> database, with the broker stopped while the agent keeps producing. Afterwards every
 * event is in the database exactly once, in order per agent; run against SQLite and PostgreSQL.
 * With authentication on (issue 9): the agent is enrolled, Mosquitto's dynamic security is
 * provisioned by the cloud, and the feed connects with the collector's own account.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/config.js';
import { silentLogger } from '../../protocol/log.js';
import { MqttTransport } from '../../agent/transport/mqtt-transport.js';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import { agentKey } from '../../cloud/store/store.js';
import { startTestCollector, type Backend } from '../collector/cloud-under-test.js';
import { securedMosquitto } from '../helpers/secured-ingress.js';
import { fault, health, IDENTITY, inventory, measurement } from '../transport/agent-messages.js';
import { until } from '../transport/recorder.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each<Backend>(['sqlite', 'postgres'])('end to end through Mosquitto into %s', (backend) => {
  it('stores every event exactly once and in order after the broker was down while the agent kept producing', async () => {
    const cloud = await startTestCollector(backend);
    cleanups.push(() => cloud.dispose());
    const ingress = await securedMosquitto(cloud.collector, cloud.security, { clientId: `e2e-collector-${backend}`, reconnectPeriodMs: 100 });
    cleanups.push(() => ingress.close());
    const mosquitto = ingress.mosquitto;
    if (!mosquitto) throw new Error('no Mosquitto behind the ingress');
    const credentials = await ingress.enroll(IDENTITY);

    const outbox = new Outbox({ path: outboxFile(mkdtempSync(join(tmpdir(), 'avcare-e2e-'))), maxEvents: 10_000 });
    cleanups.push(() => outbox.close());
    const config = parseAgentConfig({ ...IDENTITY, broker: { url: mosquitto.url, username: credentials.username, password: credentials.password } });
    const transport = new MqttTransport({ identity: config, broker: { ...config.broker, url: mosquitto.url }, outbox, log: silentLogger, backoff: { baseMs: 100, capMs: 500, stableAfterMs: 5000 } });
    cleanups.push(() => transport.stop());
    transport.start();

    const produce = (count: number) => {
      for (let i = 0; i < count; i += 1) {
        outbox.enqueue(i % 25 === 0 ? fault(i % 50 === 0 ? 'raised' : 'cleared') : i % 40 === 1 ? inventory() : i % 7 === 0 ? measurement(i) : health(i % 100), { retain: false });
        transport.wake();
      }
    };
    await until(() => transport.status().connected, 10_000, 'the agent to connect');
    produce(100);
    // The broker goes away mid-stream; the agent keeps producing into its outbox.
    await mosquitto.stop();
    produce(300);
    await mosquitto.start();
    produce(100);

    const id = agentKey(IDENTITY.schoolId, IDENTITY.agentId);
    const sequenced = async () => (await cloud.store.events(id, { limit: 10_000 })).filter((event) => event.seq !== null);
    await eventually(async () => (await sequenced()).length >= 500, 30_000, 'all 500 events in the database');
    await cloud.collector.flush();
    const seqs = (await sequenced()).map((event) => event.seq);
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    // Stored is not yet acknowledged: the PUBACKs of the last batch may still be on their way to the agent.
    await eventually(() => Promise.resolve(outbox.stats().pending === 0), 10_000, 'the outbox to empty as the last PUBACKs arrive');
    expect(outbox.stats()).toMatchObject({ pending: 0 });
  }, 90_000);
});
