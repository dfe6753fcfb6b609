import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../config.js';
import { createLogger } from '../../protocol/log.js';
import { startAedes, type InProcessBroker } from '../../test/transport/aedes-broker.js';
import { fault, health, IDENTITY, inventory, report } from '../../test/transport/agent-messages.js';
import { firstArrivals, record, until, type Recorder } from '../../test/transport/recorder.js';
import { MqttTransport, mqttClientId, redactUrl, type MqttTransportOptions } from './mqtt-transport.js';
import { Outbox, outboxFile } from './outbox.js';

const FAST_BACKOFF = { baseMs: 50, capMs: 500, stableAfterMs: 1000 };
const cleanup: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function broker(options: Parameters<typeof startAedes>[0] = {}): Promise<InProcessBroker> {
  const started = await startAedes(options);
  cleanup.push(() => started.close());
  return started;
}

async function subscriber(url: string, options: Parameters<typeof record>[1] = {}): Promise<Recorder> {
  const recorder = await record(url, options);
  cleanup.push(() => recorder.close());
  return recorder;
}

function outbox(): Outbox {
  const opened = new Outbox({ path: outboxFile(mkdtempSync(join(tmpdir(), 'avcare-transport-'))), maxEvents: 1000 });
  cleanup.push(() => opened.close());
  return opened;
}

function transport(url: string, box: Outbox, overrides: Partial<MqttTransportOptions> = {}): MqttTransport {
  const config = parseAgentConfig({ ...IDENTITY, broker: { url } });
  const started = new MqttTransport({ identity: config, broker: { ...config.broker, url }, outbox: box, log: createLogger({ level: 'silent' }), backoff: FAST_BACKOFF, ...overrides });
  started.start();
  cleanup.push(() => started.stop());
  return started;
}

describe('MqttTransport against a real broker (aedes)', () => {
  it('announces itself online, then publishes the backlog in seq order and deletes each event on its PUBACK', async () => {
    const { url } = await broker();
    const recorder = await subscriber(url);
    const box = outbox();
    for (let i = 0; i < 150; i++) box.enqueue(i % 30 === 0 ? fault() : health(i % 100), { retain: false });
    const agent = transport(url, box, { inFlightWindow: 8 });
    await recorder.waitFor((received) => firstArrivals(received).length === 150);
    expect(recorder.received[0]?.message).toMatchObject({ type: 'status', state: 'online', agentId: IDENTITY.agentId });
    expect(recorder.received[0]?.message.seq).toBeUndefined();
    expect(firstArrivals(recorder.received)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    await until(() => box.stats().pending === 0, 5000, 'the outbox to empty');
    expect(agent.status()).toMatchObject({ connected: true, connects: 1, inFlight: 0 });
    // Events enqueued later go out at once when the transport is woken.
    const late = box.enqueue(fault('cleared'), { retain: false });
    agent.wake();
    await recorder.waitFor((received) => received.some((r) => r.message.eventId === late.eventId));
  });

  it('retains the status and the inventory for a subscriber that comes later', async () => {
    const { url } = await broker();
    const box = outbox();
    box.enqueue(inventory(), { retain: true });
    box.enqueue(health(), { retain: false });
    transport(url, box);
    await until(() => box.stats().pending === 0, 5000, 'the outbox to empty');
    const late = await subscriber(url);
    await late.waitFor((received) => received.length >= 2);
    expect(late.received.map((r) => [r.message.type, r.retain]).sort()).toEqual([
      ['inventory', true],
      ['status', true],
    ]);
  });

  it('publishes status offline "stopped" on a clean stop, and the broker does not fire the last will', async () => {
    const { url } = await broker();
    const box = outbox();
    const agent = transport(url, box);
    const watcher = await subscriber(url);
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status'));
    await agent.stop();
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status' && r.message.state === 'offline'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const statuses = watcher.received.flatMap((r) => (r.message.type === 'status' ? [`${r.message.state}:${r.message.reason ?? ''}`] : []));
    expect(statuses).toEqual(['online:', 'offline:stopped']);
    const late = await subscriber(url);
    await late.waitFor((received) => received.length === 1);
    expect(late.received[0]?.message).toMatchObject({ type: 'status', state: 'offline', reason: 'stopped' });
    expect(agent.status().connected).toBe(false);
  });

  it('lets the broker announce the last will when the connection is cut, and resends what was unacknowledged after reconnecting', async () => {
    const server = await broker();
    const watcher = await subscriber(server.url);
    const box = outbox();
    const agent = transport(server.url, box);
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status'));
    // The connection dies without a DISCONNECT, as when a cable is pulled.
    const clientId = mqttClientId(IDENTITY);
    const connection = (server.broker as unknown as { clients: Record<string, { conn: { destroy(): void } }> }).clients[clientId];
    if (!connection) throw new Error(`agent ${clientId} is not connected to the broker`);
    connection.conn.destroy();
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status' && r.message.state === 'offline'));
    expect(watcher.received.find((r) => r.message.type === 'status' && r.message.state === 'offline')?.message).toMatchObject({ reason: 'connection lost' });
    // It comes back by itself, online again, and what was enqueued meanwhile arrives.
    const queued = box.enqueue(fault(), { retain: false });
    agent.wake();
    await watcher.waitFor((received) => received.some((r) => r.message.eventId === queued.eventId));
    expect(watcher.received.filter((r) => r.message.type === 'status' && r.message.state === 'online')).toHaveLength(2);
    expect(agent.status().connects).toBe(2);
  });

  it('keeps events while the broker is unreachable and delivers them once it is there', async () => {
    const first = await startAedes();
    const { port } = first;
    await first.close();
    const box = outbox();
    const agent = transport(`mqtt://127.0.0.1:${port}`, box);
    for (let i = 0; i < 30; i++) box.enqueue(health(), { retain: false });
    await until(() => agent.status().lastError !== undefined, 5000, 'a connection error');
    expect(agent.status().lastError).toMatch(/ECONNREFUSED/);
    expect(box.stats().pending).toBe(30);
    const second = await broker({ port });
    const recorder = await subscriber(second.url);
    await recorder.waitFor((received) => firstArrivals(received).length === 30);
    expect(firstArrivals(recorder.received)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('publishes what another process enqueued in its outbox without being woken (a teacher\'s report)', async () => {
    const { url } = await broker();
    const recorder = await subscriber(url);
    const box = outbox();
    const agent = transport(url, box, { outboxPollMs: 100 });
    await until(() => agent.status().connected, 5000, 'the connection');
    const other = new Outbox({ path: box.path, maxEvents: 1000 });
    cleanup.push(() => other.close());
    const filed = other.enqueue(report(), { retain: false });
    await recorder.waitFor((received) => received.some((r) => r.message.eventId === filed.eventId));
    await until(() => !box.contains(filed.seq ?? 0), 5000, 'the report to leave the outbox');
  });

  it('as a one-shot sender with its own client id, publishes the backlog but never the status, and leaves the agent connected', async () => {
    const server = await broker();
    const watcher = await subscriber(server.url);
    const daemon = transport(server.url, outbox());
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status'));
    const box = outbox();
    const filed = box.enqueue(report(), { retain: false });
    const oneShot = transport(server.url, box, { clientId: `${mqttClientId(IDENTITY)}-report`, announceStatus: false });
    await watcher.waitFor((received) => received.some((r) => r.message.eventId === filed.eventId));
    await oneShot.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(watcher.received.filter((r) => r.message.type === 'status').map((r) => r.message.type === 'status' && r.message.state)).toEqual(['online']);
    expect(daemon.status()).toMatchObject({ connected: true, connects: 1 });
  });

  it('sends the username and password to the broker and never writes the password to the log', async () => {
    const server = await broker();
    const seen: Array<{ username: string | undefined; password: string | undefined }> = [];
    server.broker.authenticate = (_client, username, password, done) => {
      seen.push({ username, password: password?.toString() });
      done(null, username === 'agent' && password?.toString() === 's3cret-Pa55');
    };
    let logged = '';
    const destination = new Writable({ write: (chunk: Buffer, _encoding, next) => ((logged += chunk.toString()), next()) });
    const url = `mqtt://agent:s3cret-Pa55@127.0.0.1:${server.port}`;
    const config = parseAgentConfig({ ...IDENTITY, broker: { url, username: 'agent', password: 's3cret-Pa55' } });
    const agent = new MqttTransport({ identity: config, broker: { ...config.broker, url }, outbox: outbox(), log: createLogger({ level: 'trace', destination }), backoff: FAST_BACKOFF });
    agent.start();
    cleanup.push(() => agent.stop());
    await until(() => agent.status().connected, 5000, 'the connection');
    await agent.stop();
    expect(seen[0]).toEqual({ username: 'agent', password: 's3cret-Pa55' });
    expect(logged).toContain('connected to broker');
    expect(logged).toContain('mqtt://[redacted]@127.0.0.1');
    expect(logged).not.toContain('s3cret-Pa55');
    expect(redactUrl('mqtts://u:p@host:8883')).toBe('mqtts://[redacted]@host:8883');
  });

  describe('over TLS (mqtts://) with a self-signed certificate', () => {
    function selfSignedCertificate(): { key: string; cert: string; certFile: string } {
      const dir = mkdtempSync(join(tmpdir(), 'avcare-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), certFile: join(dir, 'cert.pem') };
    }

    it('publishes when caFile names the certificate that signed the broker', async () => {
      const { key, cert, certFile } = selfSignedCertificate();
      const server = await broker({ tls: { key, cert } });
      const recorder = await subscriber(server.url, { ca: cert });
      const box = outbox();
      box.enqueue(health(), { retain: false });
      const config = parseAgentConfig({ ...IDENTITY, broker: { url: server.url, caFile: certFile } });
      transport(server.url, box, { broker: { ...config.broker, url: server.url } });
      await recorder.waitFor((received) => firstArrivals(received).length === 1);
      expect(recorder.received.map((r) => r.message.type)).toEqual(['status', 'health']);
    });

    it('refuses a broker whose certificate it cannot verify, and keeps the events', async () => {
      const { key, cert } = selfSignedCertificate();
      const server = await broker({ tls: { key, cert } });
      const box = outbox();
      box.enqueue(health(), { retain: false });
      const agent = transport(server.url, box);
      await until(() => agent.status().lastError !== undefined, 5000, 'a TLS error');
      expect(agent.status().lastError).toMatch(/self[- ]signed certificate/);
      expect(agent.status()).toMatchObject({ connected: false, connects: 0 });
      expect(box.stats().pending).toBe(1);
    });
  });
});

describe('MqttTransport keeps the agent\'s secret off the network in clear', () => {
  const make = (url: string, broker: { password?: string; insecurePlaintext?: boolean }) => {
    const config = parseAgentConfig({ ...IDENTITY, broker: { url, username: 'sch-1:pc-01', ...broker } });
    return () => new MqttTransport({ identity: config, broker: { ...config.broker, url }, outbox: outbox(), log: createLogger({ level: 'silent' }) });
  };

  it('refuses a password over plain mqtt:// to another machine, naming the fix', () => {
    expect(make('mqtt://192.0.2.10:1883', { password: 'avc_ms_secret-secret-secret' })).toThrow(
      'the broker password would cross the network in clear to 192.0.2.10:1883: use mqtts:// (broker.caFile for a private CA), or set broker.insecurePlaintext on a trusted network',
    );
  });

  it('allows it over mqtts, within this machine, without a password, or when the network is declared trusted', () => {
    for (const allowed of [
      make('mqtts://cloud.example.edu.cn:8883', { password: 'avc_ms_secret-secret-secret' }),
      make('mqtt://127.0.0.1:1883', { password: 'avc_ms_secret-secret-secret' }),
      make('mqtt://localhost:1883', { password: 'avc_ms_secret-secret-secret' }),
      make('mqtt://192.0.2.10:1883', {}),
      make('mqtt://192.0.2.10:1883', { password: 'avc_ms_secret-secret-secret', insecurePlaintext: true }),
    ]) {
      expect(allowed).not.toThrow();
    }
  });
});
