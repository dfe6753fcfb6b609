import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../../protocol/index.js';
import { buildApp } from '../../cloud/app.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import { validMessage, type Sender } from '../collector/agent-traffic.js';
import { usbDevice } from '../helpers/device-factory.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { bearer, testSecurity } from '../helpers/security.js';

const ROOM_101: Sender = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const OTHER_SCHOOL: Sender = { schoolId: 'sch-2', roomId: 'lab', agentId: 'pc-07' };
/** A USB product string as a hostile device could report it: it must come back as plain JSON data. */
const HOSTILE_NAME = '<script>alert("x")</script> \\ "quoted"';

function fleet(): AgentMessage[] {
  const inventory = validMessage('inventory', ROOM_101, 1);
  if (inventory.type === 'inventory') inventory.devices = [usbDevice({ name: HOSTILE_NAME })];
  const offline = validMessage('status', OTHER_SCHOOL);
  if (offline.type === 'status') Object.assign(offline, { state: 'offline', reason: 'stopped' });
  return [validMessage('status', ROOM_101), inventory, validMessage('health', ROOM_101, 2), validMessage('fault', ROOM_101, 3), offline];
}

/** Collects pino's output lines so a test can read what the server logged. */
function logCapture(): { log: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { log: pino({ level: 'info' }, stream), text: () => chunks.join('') };
}

type Backend = { name: string; open: () => Promise<{ spec: string; drop: () => Promise<void> }> };

const BACKENDS: Backend[] = [
  { name: 'SQLite', open: () => Promise.resolve({ spec: `sqlite:${join(mkdtempSync(join(tmpdir(), 'avcare-api-')), 'avcare.db')}`, drop: () => Promise.resolve() }) },
  {
    name: 'PostgreSQL',
    open: async () => {
      const database: TestDatabase = await createTestDatabase();
      return { spec: database.url, drop: () => database.drop() };
    },
  },
];

// One suite, re-run per database: the API must answer the same whatever stores the fleet.
describe.each(BACKENDS)('HTTP API over a real $name store', (backend) => {
  let store: Store;
  let app: FastifyInstance;
  let logs: ReturnType<typeof logCapture>;
  let drop: () => Promise<void>;
  let auth: { authorization: string };

  beforeAll(async () => {
    const target = await backend.open();
    drop = target.drop;
    store = await openStore(target.spec);
    await store.migrate();
    await store.ingest(fleet().map((message) => ({ message, receivedAt: new Date() })));
    logs = logCapture();
    const { security, operatorToken } = await testSecurity(store);
    auth = bearer(operatorToken);
    app = buildApp({ store, metrics: new CloudMetrics(), log: logs.log, security });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    await store.close();
    await drop();
  });

  it('GET /api/agents lists every agent with its state, as JSON', async () => {
    const response = await app.inject({ headers: auth, method: 'GET', url: '/api/agents' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const { agents } = response.json<{ agents: { id: string; state: string; stateReason: string | null; openFaultCount: number; deviceCount: number }[] }>();
    expect(agents.map((a) => [a.id, a.state])).toEqual([
      ['sch-1:pc-01', 'online'],
      ['sch-2:pc-07', 'offline'],
    ]);
    expect(agents[0]).toMatchObject({ openFaultCount: 1, deviceCount: 1 });
    expect(agents[1]?.stateReason).toBe('stopped');
  });

  it('GET /api/agents filters by school and by state', async () => {
    const bySchool = (await app.inject({ headers: auth, method: 'GET', url: '/api/agents?school=sch-2' })).json<{ agents: { id: string }[] }>();
    expect(bySchool.agents.map((a) => a.id)).toEqual(['sch-2:pc-07']);
    const online = (await app.inject({ headers: auth, method: 'GET', url: '/api/agents?state=online' })).json<{ agents: { id: string }[] }>();
    expect(online.agents.map((a) => a.id)).toEqual(['sch-1:pc-01']);
    const none = (await app.inject({ headers: auth, method: 'GET', url: '/api/agents?school=sch-9&state=online' })).json<{ agents: unknown[] }>();
    expect(none.agents).toEqual([]);
  });

  it('GET /api/agents answers 400 naming the parameter for an invalid or unknown query', async () => {
    const badState = await app.inject({ headers: auth, method: 'GET', url: '/api/agents?state=onlin' });
    expect(badState.statusCode).toBe(400);
    expect(badState.json()).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('"state"') as string } });
    const badSchool = await app.inject({ headers: auth, method: 'GET', url: '/api/agents?school=a/b' });
    expect(badSchool.statusCode).toBe(400);
    expect(badSchool.json<{ error: { message: string } }>().error.message).toContain('"school"');
    const unknown = await app.inject({ headers: auth, method: 'GET', url: '/api/agents?colour=red' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ error: { message: string } }>().error.message).toContain('"colour"');
  });

  it('GET /api/agents/:id gives state, inventory devices, open faults and recent health, with the id encoded or not', async () => {
    for (const url of ['/api/agents/sch-1%3Apc-01', '/api/agents/sch-1:pc-01']) {
      const response = await app.inject({ headers: auth, method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      const { agent } = response.json<{ agent: { id: string; state: string; roomId: string; devices: { name: string }[]; openFaults: { code: string }[]; recentHealth: { cpuLoadPercent: number }[] } }>();
      expect(agent).toMatchObject({ id: 'sch-1:pc-01', state: 'online', roomId: 'r101' });
      expect(agent.devices.map((d) => d.name)).toEqual([HOSTILE_NAME]);
      expect(agent.openFaults.map((f) => f.code)).toEqual(['DEVICE_MISSING']);
      expect(agent.recentHealth).toHaveLength(1);
    }
  });

  it('device strings travel as JSON data, never as markup a browser would sniff', async () => {
    const response = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-01' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toContain(JSON.stringify(HOSTILE_NAME));
  });

  it('GET /api/agents/:id/measurements serves a room\'s test results over time, by name and since, oldest first', async () => {
    const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * 3_600_000).toISOString();
    const result = (name: string, value: number, hoursAgo: number): AgentMessage => ({ ...validMessage('measurement', ROOM_101), name, value, unit: name === 'network' ? 'MOS' : 'ms', at: at(hoursAgo), details: { status: 'done', trigger: 'schedule' } }) as AgentMessage;
    await store.ingest([result('network', 4.3, 30), result('network', 3.1, 2), result('avsync', 20, 1), result('network', 4.4, 24 * 10)].map((message) => ({ message, receivedAt: new Date() })));

    const network = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-01/measurements?name=network' });
    expect(network.statusCode).toBe(200);
    const body = network.json<{ agent: string; measurements: { name: string; value: number; roomId: string; details: unknown }[] }>();
    // The default window is 7 days: the 10-day-old result is left out; oldest first.
    expect(body.measurements.map((m) => [m.name, m.value])).toEqual([
      ['network', 4.3],
      ['network', 3.1],
    ]);
    expect(body.measurements[0]).toMatchObject({ roomId: 'r101', details: { status: 'done', trigger: 'schedule' } });

    const recent = await app.inject({ headers: auth, method: 'GET', url: `/api/agents/sch-1:pc-01/measurements?since=${encodeURIComponent(at(3))}` });
    expect(recent.json<{ measurements: { name: string }[] }>().measurements.map((m) => m.name)).toEqual(['network', 'avsync']);
    const longer = await app.inject({ headers: auth, method: 'GET', url: `/api/agents/sch-1:pc-01/measurements?name=network&since=${encodeURIComponent(at(24 * 11))}&limit=1` });
    expect(longer.json<{ measurements: { value: number }[] }>().measurements.map((m) => m.value)).toEqual([4.4]);

    const badSince = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-01/measurements?since=yesterday' });
    expect(badSince.statusCode).toBe(400);
    expect(badSince.json<{ error: { message: string } }>().error.message).toContain('"since"');
    const unknown = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-99/measurements' });
    expect(unknown.statusCode).toBe(404);
  });

  it('GET /api/agents/:id answers 404 AGENT_NOT_FOUND for an agent never seen, 400 for a malformed id or query', async () => {
    const missing = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-99' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string; message: string } }>().error).toEqual({ code: 'AGENT_NOT_FOUND', message: expect.stringContaining('sch-1:pc-99') as string });
    const malformed = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/pc-01' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"id"') as string });
    const badHours = await app.inject({ headers: auth, method: 'GET', url: '/api/agents/sch-1:pc-01?healthHours=0' });
    expect(badHours.statusCode).toBe(400);
    expect(badHours.json<{ error: { message: string } }>().error.message).toContain('"healthHours"');
  });

  it('an unknown route answers 404 in the same error shape', async () => {
    const response = await app.inject({ headers: auth, method: 'GET', url: '/api/nothing' });
    expect(response.statusCode).toBe(404);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('GET /healthz answers 200 when the database can be queried', async () => {
    const response = await app.inject({ headers: auth, method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', db: 'ok' });
  });

  it('GET /metrics is Prometheus text with messages in, rejected by reason, write latency and agents online', async () => {
    const response = await app.inject({ headers: auth, method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of ['avcare_messages_in_total', 'avcare_messages_rejected_total{reason="bad-json"} 0', 'avcare_write_batch_seconds_bucket', 'avcare_agents_online']) {
      expect(response.body).toContain(name);
    }
  });

  it('logs each request through a child logger with its request id, and never the authorization header', async () => {
    await app.inject({ method: 'GET', url: '/api/agents', headers: { authorization: 'Bearer tiger-secret-7' } });
    await app.inject({ method: 'GET', url: '/api/agents', headers: auth });
    const lines = logs.text().trim().split('\n').map((line) => JSON.parse(line) as { module?: string; reqId?: string; msg: string });
    expect(lines.some((line) => line.module === 'http' && typeof line.reqId === 'string' && line.msg === 'request completed')).toBe(true);
    expect(logs.text()).not.toContain('tiger-secret-7');
    expect(logs.text()).not.toContain(auth.authorization.slice('Bearer '.length));
  });
});

describe('HTTP API when the database is gone', () => {
  it('GET /healthz answers 503 STORE_UNAVAILABLE once the store is closed, and /api/agents 503 too', async () => {
    const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'avcare-api-')), 'avcare.db')}`);
    await store.migrate();
    const { security, operatorToken } = await testSecurity(store);
    const auth = bearer(operatorToken);
    const app = buildApp({ store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security });
    expect((await app.inject({ headers: auth, method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await store.close();
    const health = await app.inject({ headers: auth, method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'unavailable', db: 'error', error: { code: 'STORE_UNAVAILABLE' } });
    const agents = await app.inject({ headers: auth, method: 'GET', url: '/api/agents' });
    expect(agents.statusCode).toBe(503);
    expect(agents.json<{ error: { code: string } }>().error.code).toBe('STORE_UNAVAILABLE');
    await app.close();
  });
});
