import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicFor, type AgentMessage, type MqttCredentials } from '../../protocol/index.js';
import { CLOUD_CLI, connectAgent, enrollmentToken, enrollThroughApi, eventually, getJson, operatorPasswordFile, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD, type RunningProcess } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { messagesFrom, T0 } from '../store/store-messages.js';

const AGENTS = 40;
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

/**
 * Two collector processes on one PostgreSQL, sharing the stream through an MQTT shared
 * subscription on Mosquitto: the broker hands each message to either one, so raises, repeats and
 * redeliveries of one fault land on both at once. Exactly one ticket per (agent, fault, device).
 */
async function publishAll(messages: readonly AgentMessage[]): Promise<void> {
  // Each agent publishes its own messages over its own authenticated connection, all agents at once.
  const byAgent = new Map<string, AgentMessage[]>();
  for (const message of messages) byAgent.set(`${message.schoolId}:${message.agentId}`, [...(byAgent.get(`${message.schoolId}:${message.agentId}`) ?? []), message]);
  await Promise.all(
    [...byAgent].map(async ([key, own]) => {
      const credentials = agentCredentials.get(key);
      if (!credentials) throw new Error(`agent ${key} was not enrolled`);
      const client = await connectAgent(brokerUrl, credentials);
      try {
        await Promise.all(own.map((message) => client.publishAsync(topicFor({ school: message.schoolId, room: message.roomId, agent: message.agentId, kind: message.type }), JSON.stringify(message), { qos: 1 })));
      } finally {
        await client.endAsync();
      }
    }),
  );
}

const agentCredentials = new Map<string, MqttCredentials>();

/** Waits for the ticket count and the sum of their occurrences, as two collectors settle. */
async function ticketsSettle(admin: pg.Client, count: number, occurrences: number): Promise<Array<{ occurrences: number }>> {
  return eventually(async () => {
    const { rows } = await admin.query<{ occurrences: number }>('SELECT occurrences FROM tickets');
    const total = rows.reduce((sum, row) => sum + Number(row.occurrences), 0);
    return rows.length === count && total === occurrences ? rows : undefined;
  }, 20_000, `${count} tickets with ${occurrences} occurrences`);
}

let brokerUrl = '';

describe('two collectors on one PostgreSQL', () => {
  let broker: OwnMosquitto;
  let database: TestDatabase;
  const collectors: Array<{ process: RunningProcess; httpPort: number }> = [];

  beforeAll(async () => {
    broker = await startMosquitto({ dynsec: true });
    brokerUrl = broker.url;
    database = await createTestDatabase();
    // One signing key for both processes: agents pin one key, and a second one is refused at start.
    const shared = mkdtempSync(join(tmpdir(), 'avcare-two-collectors-'));
    const signingKey = join(shared, 'signing-key.pem');
    writeFileSync(signingKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    const dynsecPassword = join(shared, 'dynsec-admin');
    writeFileSync(dynsecPassword, `${broker.admin?.password ?? ''}\n`, { mode: 0o600 });
    const adminPassword = operatorPasswordFile();
    for (const id of ['c1', 'c2']) {
      const httpPort = await freePort();
      const process = runNodeEntry(
        CLOUD_CLI,
        ['start', '--broker', broker.url, '--broker-user', broker.admin?.username ?? '', '--broker-password-file', dynsecPassword, '--signing-key', signingKey, '--admin-password-file', adminPassword, '--db', database.url, '--port', String(httpPort), '--host', '127.0.0.1', '--shared-group', 'avcare', '--collector-id', `collector-${id}`],
        { env: { AVCARE_LOG_LEVEL: 'warn' } },
      );
      collectors.push({ process, httpPort });
    }
    for (const { process } of collectors) await process.waitForOutput(/Ctrl-C stops/);
    // The PCs enroll through either cloud: the broker accounts are the same.
    const baseUrl = `http://127.0.0.1:${collectors[0]?.httpPort ?? 0}`;
    const tokens = new Map<string, string>();
    for (let index = 0; index < AGENTS; index += 1) {
      const schoolId = `sch-${index % 4}`;
      const token = tokens.get(schoolId) ?? (await enrollmentToken(baseUrl, schoolId, AGENTS));
      tokens.set(schoolId, token);
      agentCredentials.set(`${schoolId}:pc-${index}`, await enrollThroughApi(`http://127.0.0.1:${collectors[index % 2]?.httpPort ?? 0}`, token, { schoolId, roomId: `r${index}`, agentId: `pc-${index}` }));
    }
  }, 60_000);

  afterAll(async () => {
    for (const { process } of collectors) process.kill();
    await Promise.all(collectors.map(({ process }) => process.exited));
    await database.drop();
    await broker.stop();
  });

  it('opens exactly one ticket per agent, fault and device, and counts a fault that came back on the same ticket', async () => {
    const senders = Array.from({ length: AGENTS }, (_, index) => messagesFrom({ schoolId: `sch-${index % 4}`, roomId: `r${index}`, agentId: `pc-${index}` }));
    const mic = { code: 'MICROPHONE_MUTED' as const, deviceId: 'usb:mic', evidence: {} };
    // Wave 1 at once: raises, a redelivery of the same event, a repeat of the open episode.
    await publishAll(
      senders.flatMap((from) => {
        const camera = from.fault('raised', { at: at(0), seq: 1 });
        return [camera, camera, from.fault('raised', { at: at(1), seq: 2, message: 'still missing' }), from.fault('raised', { at: at(1), seq: 3, ...mic })];
      }),
    );
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      await ticketsSettle(admin, 2 * AGENTS, 2 * AGENTS);
      // Waves 2 and 3 a probe cycle apart, as an agent sends them: the microphone clears, then returns.
      await publishAll(senders.map((from) => from.fault('cleared', { at: at(2), seq: 4, ...mic })));
      await eventually(async () => {
        const { rows } = await admin.query<{ n: string }>('SELECT COUNT(*) AS n FROM tickets WHERE fault_cleared_at IS NOT NULL');
        return Number(rows[0]?.n) === AGENTS ? true : undefined;
      }, 20_000, 'every microphone ticket to hear of the clear');
      await publishAll(senders.map((from) => from.fault('raised', { at: at(3), seq: 5, ...mic })));
      const settled = await ticketsSettle(admin, 2 * AGENTS, 3 * AGENTS);
      expect(settled).toHaveLength(2 * AGENTS);
      const { rows: doubled } = await admin.query('SELECT agent_key, code, device_key, COUNT(*) AS n FROM tickets GROUP BY agent_key, code, device_key HAVING COUNT(*) > 1');
      expect(doubled).toEqual([]);
      const { rows: events } = await admin.query<{ n: string }>('SELECT COUNT(*) AS n FROM events');
      expect(Number(events[0]?.n)).toBe(5 * AGENTS);
    } finally {
      await admin.end();
    }

    // Both took part: the broker shared the stream.
    const token = await signIn(`http://127.0.0.1:${collectors[0]?.httpPort ?? 0}`, 'operator', TEST_OPERATOR_PASSWORD);
    for (const { httpPort } of collectors) {
      const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.text());
      expect(Number(/^avcare_events_stored_total (\S+)$/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    }
    // Either API shows the same tickets.
    const lists = await Promise.all(collectors.map(({ httpPort }) => getJson<{ tickets: Array<{ id: string }> }>(`http://127.0.0.1:${httpPort}/api/tickets`, token)));
    expect(lists[0]?.body.tickets.map((ticket) => ticket.id).sort()).toEqual(lists[1]?.body.tickets.map((ticket) => ticket.id).sort());
  }, 40_000);
});
