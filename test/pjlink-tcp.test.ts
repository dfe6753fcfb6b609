/**
 * The pjlink probe against the PJLink projector simulator over real TCP on 127.0.0.1.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceSchema, type Device } from '../protocol/index.js';
import { parseAgentConfig, type AgentConfigInput } from '../agent/config.js';
import { createLogger, silentLogger, type Logger } from '../protocol/log.js';
import { createPjlinkProbe } from '../agent/probes/pjlink-probe.js';
import { runProbe, type ProbeResult } from '../agent/probes/probe.js';
import { FaultMonitor } from '../agent/fault-monitor.js';
import { startPjlinkProjector, type PjlinkProjector, type PjlinkProjectorOptions } from './sim/pjlink-projector.js';

type TargetInput = NonNullable<AgentConfigInput['pjlink']>[number];

const projectors: PjlinkProjector[] = [];

afterEach(async () => {
  await Promise.all(projectors.splice(0).map((projector) => projector.close()));
});

async function projector(options: PjlinkProjectorOptions = {}): Promise<PjlinkProjector> {
  const started = await startPjlinkProjector(options);
  projectors.push(started);
  return started;
}

function targetOf(sim: PjlinkProjector, extra: Partial<TargetInput> = {}): TargetInput {
  return { host: sim.host, port: sim.port, ...extra };
}

async function probe(targets: TargetInput[], options: { probeTimeoutSeconds?: number; log?: Logger } = {}): Promise<ProbeResult> {
  const probeTimeoutSeconds = options.probeTimeoutSeconds ?? 10;
  const config = parseAgentConfig({ pjlink: targets, probeTimeoutSeconds });
  return runProbe(createPjlinkProbe(), { config, log: options.log ?? silentLogger }, probeTimeoutSeconds * 1000);
}

/** Probes one target and returns its device, checked against the wire schema. */
async function probeOne(target: TargetInput): Promise<Device> {
  const result = await probe([target]);
  expect(result.status.state).toBe('ok');
  expect(result.findings.devices).toHaveLength(1);
  return deviceSchema.parse(result.findings.devices[0]);
}

/** A port nothing listens on: bind one, then release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return address.port;
}

describe('pjlink probe over TCP', () => {
  it('reads a projector without authentication into an ok device', async () => {
    const sim = await projector({ name: 'Room 101', manufacturer: 'EPSON', product: 'EB-X41', lamps: [[1200, true]] });
    const device = await probeOne(targetOf(sim));
    expect(device).toMatchObject({
      id: `pjlink:127.0.0.1:${sim.port}`,
      kind: 'projector',
      name: 'Room 101',
      make: 'EPSON',
      model: 'EB-X41',
      status: 'ok',
      connection: { type: 'network', host: '127.0.0.1', port: sim.port, protocol: 'pjlink' },
    });
    expect(device.pjlink).toEqual({
      pjlinkClass: '1',
      power: 'on',
      errors: { fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' },
      lamps: [{ hours: 1200, on: true }],
      name: 'Room 101',
      manufacturer: 'EPSON',
      product: 'EB-X41',
      authenticated: false,
    });
    // A class 1 device is never asked class 2 commands, and every command went over one connection.
    expect(sim.received).toEqual(['%1POWR ?', '%1CLSS ?', '%1ERST ?', '%1LAMP ?', '%1NAME ?', '%1INF1 ?', '%1INF2 ?']);
    expect(sim.connections).toBe(1);
  });

  it('authenticates with md5(random + password) on the first command only', async () => {
    const sim = await projector({ password: 'classroom-42' });
    const device = await probeOne(targetOf(sim, { password: 'classroom-42' }));
    expect(device.status).toBe('ok');
    expect(device.pjlink?.authenticated).toBe(true);
    expect(sim.received[0]).toMatch(/^[0-9a-f]{32}%1POWR \?$/);
    expect(sim.received.slice(1).every((line) => line.startsWith('%1'))).toBe(true);
    expect(sim.received.join('\n')).not.toContain('classroom-42');
  });

  it('reports a wrong password as PJLINK_AUTH_FAILED without the password in the message', async () => {
    const sim = await projector({ password: 'right-password' });
    const device = await probeOne(targetOf(sim, { password: 'wrong-password' }));
    expect(device.status).toBe('unreachable');
    expect(device.error?.code).toBe('PJLINK_AUTH_FAILED');
    expect(device.error?.message).toMatch(/rejected the configured PJLink password/);
    const serialised = JSON.stringify(device);
    expect(serialised).not.toContain('wrong-password');
    expect(serialised).not.toContain('right-password');
    expect(device.name).toBe('Projector at 127.0.0.1');
  });

  it('reports PJLINK_AUTH_FAILED without sending anything when the device asks for a password and none is configured', async () => {
    const sim = await projector({ password: 'right-password' });
    const device = await probeOne(targetOf(sim));
    expect(device.status).toBe('unreachable');
    expect(device.error?.code).toBe('PJLINK_AUTH_FAILED');
    expect(device.error?.message).toMatch(/none is configured/);
    expect(sim.received).toEqual([]);
  });

  it('never writes the password to the log, even at trace level', async () => {
    const sim = await projector({ password: 'right-password' });
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger({ level: 'trace', destination });
    await probe([targetOf(sim, { password: 'right-password' }), targetOf(sim, { password: 'wrong-password', name: 'second' })], { log });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('right-password');
    expect(lines.join('')).not.toContain('wrong-password');
  });

  it("marks a lamp warning (ERST 010000) as lamp 'warning' and the device degraded", async () => {
    const sim = await projector({ errors: '010000' });
    const device = await probeOne(targetOf(sim));
    expect(device.pjlink?.errors.lamp).toBe('warning');
    expect(device.status).toBe('degraded');
  });

  it('marks a fan error (ERST 200000) as faulty', async () => {
    const sim = await projector({ errors: '200000' });
    const device = await probeOne(targetOf(sim));
    expect(device.pjlink?.errors.fan).toBe('error');
    expect(device.status).toBe('faulty');
  });

  it('waits for replies that take 1.5 s', async () => {
    const sim = await projector({ replyDelayMs: 1500, slowCommands: ['POWR', 'ERST'], power: 3 });
    const started = performance.now();
    const device = await probeOne(targetOf(sim));
    expect(performance.now() - started).toBeGreaterThanOrEqual(2900);
    expect(device.status).toBe('ok');
    expect(device.pjlink?.power).toBe('warm-up');
  });

  it('reports a device that accepts TCP but never speaks (eco-standby) as PJLINK_TIMEOUT, waiting for it up to the probe timeout', async () => {
    const sim = await projector({ silent: true });
    const started = performance.now();
    const result = await probe([targetOf(sim)], { probeTimeoutSeconds: 4 });
    const elapsed = performance.now() - started;
    const device = deviceSchema.parse(result.findings.devices[0]);
    expect(device.status).toBe('unreachable');
    expect(device.error?.code).toBe('PJLINK_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(elapsed).toBeLessThan(4000);
    expect(sim.connections).toBe(1);
  });

  it('reports a refused connection as PJLINK_REFUSED, not as silence', async () => {
    const port = await closedPort();
    const device = await probeOne({ host: '127.0.0.1', port, name: 'Front projector' });
    expect(device.status).toBe('unreachable');
    expect(device.error?.code).toBe('PJLINK_REFUSED');
    expect(device.error?.message).toContain('refused the connection');
    expect(device.name).toBe('Front projector');
  });

  it('reads class 2 extras: serial number, software version and filter hours', async () => {
    const sim = await projector({ class: '2', serial: 'X5K1234567', softwareVersion: 'V1.02', filterHours: 340 });
    const device = await probeOne(targetOf(sim));
    expect(device.serialNumber).toBe('X5K1234567');
    expect(device.pjlink).toMatchObject({ pjlinkClass: '2', serialNumber: 'X5K1234567', softwareVersion: 'V1.02', filterHours: 340 });
    expect(sim.received.slice(-3)).toEqual(['%2SNUM ?', '%2SVER ?', '%2FILT ?']);
  });

  it('reconnects and re-authenticates when the device closes after each reply', async () => {
    const sim = await projector({ class: '2', password: 'pw', closeAfterEachReply: true, serial: 'S1', softwareVersion: 'V2', filterHours: 10 });
    const device = await probeOne(targetOf(sim, { password: 'pw' }));
    expect(device.status).toBe('ok');
    expect(device.pjlink).toMatchObject({ serialNumber: 'S1', softwareVersion: 'V2', filterHours: 10, authenticated: true });
    // Ten commands, each answered on its own connection opened with a fresh digest. A command
    // may also reach a connection in the moment it is closing (the FIN trails the reply); it
    // goes unanswered there and is sent again on the next connection.
    const authenticated = sim.received.filter((line) => /^[0-9a-f]{32}%[12][A-Z0-9]{4} \?$/.test(line));
    expect(authenticated.map((line) => line.slice(32))).toEqual([
      '%1POWR ?', '%1CLSS ?', '%1ERST ?', '%1LAMP ?', '%1NAME ?', '%1INF1 ?', '%1INF2 ?', '%2SNUM ?', '%2SVER ?', '%2FILT ?',
    ]);
    expect(sim.connections).toBe(10);
  });

  it('treats ERR3 to ERST and LAMP in standby as a note, not a failure', async () => {
    const sim = await projector({ power: 0, standbyErr3: true, errors: '222222' });
    const device = await probeOne(targetOf(sim));
    expect(device.status).toBe('ok');
    expect(device.pjlink?.power).toBe('standby');
    expect(device.pjlink?.lamps).toEqual([]);
    expect(Object.values(device.pjlink?.errors ?? {})).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(device.pjlink?.commandErrors).toEqual([{ command: 'ERST', error: 'ERR3' }, { command: 'LAMP', error: 'ERR3' }]);
  });

  it('sanitises a hostile 300-character name with control characters', async () => {
    const hostile = `\u001b[2J\u0007Evil\u0000\u202eName${'A'.repeat(300)}`;
    const sim = await projector({ name: hostile });
    const device = await probeOne(targetOf(sim));
    expect(device.name.startsWith('[2J Evil Name')).toBe(true);
    expect(Array.from(device.name)).toHaveLength(64);
    // eslint-disable-next-line no-control-regex -- checking that none survived
    expect(device.name).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(device.pjlink?.name).toBe(device.name);
  });

  it('keeps a UTF-8 name from a class 2 device', async () => {
    const sim = await projector({ class: '2', name: '三年级二班 投影机' });
    const device = await probeOne(targetOf(sim));
    expect(device.name).toBe('三年级二班 投影机');
  });

  it('reports what a slow projector answered in the probe\'s time, and the others in full', async () => {
    const slow = await projector({ replyDelayMs: 1500 });
    const fast = await projector({ name: 'fast one' });
    const started = performance.now();
    const result = await probe([targetOf(slow, { name: 'slow one' }), targetOf(fast)], { probeTimeoutSeconds: 3 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.status.state).toBe('ok');
    const [slowDevice, fastDevice] = result.findings.devices;
    // POWR came after 1.5 s; the rest would not have fit: unanswered, not "not answering".
    expect(slowDevice).toMatchObject({ name: 'slow one', status: 'ok', pjlink: { power: 'on', unanswered: expect.arrayContaining(['ERST', 'LAMP']) as string[] } });
    expect(fastDevice).toMatchObject({ name: 'fast one', status: 'ok' });
  });

  it.each([
    ['a prompt after every reply', (text: string) => `${text}\n>`],
    ['lower case with CR LF and a trailing NUL', (text: string) => `${text.toLowerCase().replace('\r', '\r\n')}\0`],
  ])('reads a projector in standby that frames its replies with %s, and raises no fault for it', async (_name, framing) => {
    const sim = await projector({ power: 0, framing });
    const device = await probeOne(targetOf(sim));
    expect(device).toMatchObject({ status: 'ok', pjlink: { power: 'standby', lamps: [{ hours: 1200, on: false }] } });
    expect(device.pjlink).not.toHaveProperty('badReplies');
    const config = parseAgentConfig({ pjlink: [targetOf(sim)] });
    expect(new FaultMonitor(config, null).detect({ at: new Date(), devices: [device], sources: [{ source: 'pjlink', state: 'ok', durationMs: 1 }] })).toEqual([]);
  });

  it('reports state ok with no devices when no projector is configured', async () => {
    const result = await probe([]);
    expect(result.status).toMatchObject({ source: 'pjlink', state: 'ok' });
    expect(result.findings).toEqual({ state: 'ok', devices: [] });
  });
});
