import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfigInput } from '../agent/config.js';
import { runProbeCycle } from '../agent/cycle.js';
import { probeResult } from '../agent/events.js';
import { FaultMonitor } from '../agent/fault-monitor.js';
import { ViscaClient, queryCamera } from '../agent/probes/visca-client.js';
import { openViscaIpLink } from '../agent/probes/visca-ip-link.js';
import { createViscaIpProbe } from '../agent/probes/visca-ip-probe.js';
import { Remediator } from '../agent/remediation/remediator.js';
import { silentLogger } from '../protocol/log.js';
import { probeResultSchema, type Device } from '../protocol/index.js';
import { startViscaIpCamera, type SimulatedViscaIpCamera, type ViscaIpCameraOptions } from './sim/visca-ip-camera.js';

// Every VISCA-over-IP dialect as its own simulated camera on 127.0.0.1: Sony's header over UDP,
// bare bytes over UDP, bare bytes over TCP; lost and duplicated datagrams; a camera that wants a
// sequence reset; cameras that ignore framings they do not speak.

const HOST = '127.0.0.1';
const FAST = { inquiryTimeoutMs: 600, attemptTimeoutMs: 400 };
const hex = (packets: readonly Buffer[]) => packets.map((packet) => packet.toString('hex'));

let cameras: SimulatedViscaIpCamera[] = [];
afterEach(async () => {
  await Promise.all(cameras.map((camera) => camera.close()));
  cameras = [];
});

async function camera(options: ViscaIpCameraOptions): Promise<SimulatedViscaIpCamera> {
  const started = await startViscaIpCamera(options);
  cameras.push(started);
  return started;
}

async function probe(viscaIp: AgentConfigInput['viscaIp'], options: Parameters<typeof createViscaIpProbe>[0] = FAST): Promise<Device[]> {
  const config = parseAgentConfig({ viscaIp });
  const cycle = await runProbeCycle([createViscaIpProbe(options)], { config, log: silentLogger });
  expect(cycle.sources).toEqual([expect.objectContaining({ source: 'visca-ip', state: 'ok' })]);
  return cycle.devices;
}

async function onlyDevice(viscaIp: AgentConfigInput['viscaIp']): Promise<Device> {
  const [device, ...rest] = await probe(viscaIp);
  expect(rest).toEqual([]);
  if (!device) throw new Error('no device');
  return device;
}

/** A TCP port with nothing listening, for "connection refused". */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe.each(['sony-ip', 'raw-udp', 'raw-tcp'] as const)('a camera speaking %s', (framing) => {
  it('answers power, zoom and version exactly as over serial', async () => {
    const sim = await camera({ framing, mode: 'on', zoom: 0x1234 });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing, name: 'Front PTZ' }]);
    expect(device).toMatchObject({
      id: `visca-ip:${HOST}:1`,
      kind: 'camera',
      name: 'Front PTZ',
      status: 'ok',
      make: 'Sony',
      connection: { type: 'network', host: HOST, port: sim.port, protocol: 'visca', framing },
      visca: { address: 1, power: 'on', zoomPosition: 0x1234, version: { vendorId: 1, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 } },
    });
    expect(device.visca?.framingDetected).toBeUndefined();
    expect(hex(sim.received)).toEqual(['81090400ff', '81090447ff', '81090002ff']);
  });

  it('is found by "auto" on its port and reported so it can be pinned', async () => {
    const sim = await camera({ framing, mode: 'standby' });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'auto' }]);
    expect(device).toMatchObject({ status: 'ok', connection: { framing }, visca: { power: 'standby', framingDetected: true } });
    const attempts = device.visca?.framingAttempts ?? [];
    expect(attempts.at(-1)).toMatchObject({ framing, port: sim.port, outcome: 'answered', detail: 'power standby' });
    // The framings tried before were met with silence: this camera ignores what it does not speak.
    expect(attempts.slice(0, -1).map((attempt) => attempt.outcome)).toEqual(attempts.slice(0, -1).map(() => 'silent'));
  });

  it('is silent (VISCA_TIMEOUT) or garbled (VISCA_GARBLED), two different outcomes', async () => {
    const silent = await camera({ framing, mode: 'silent' });
    const garbage = await camera({ framing, mode: 'garbage', address: 2, garbage: Uint8Array.of(0xa0, 0x50, 0x07, 0xff) });
    const [quiet, garbled] = await probe([
      { host: HOST, port: silent.port, framing, name: 'quiet' },
      { host: HOST, port: garbage.port, framing, address: 2, name: 'garbled' },
    ]);
    expect(quiet).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT' } });
    expect(garbled).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_GARBLED', raw: 'a05007ff' } });
    expect(garbled?.id).toBe(`visca-ip:${HOST}:2`);
  }, 10_000);
});

describe('Sony framing on a real network', () => {
  it('resets the sequence before the first command, for a camera that refuses anything else', async () => {
    const sim = await camera({ framing: 'sony-ip', mode: 'on', needsSequenceReset: true });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'sony-ip' }]);
    expect(device.status).toBe('ok');
    expect(sim.sequenceResets).toBe(1);
    expect(sim.datagrams[0]?.toString('hex')).toBe('020000010000000001');
  });

  it('resets again and resends when the camera says the sequence is wrong (its reset was lost)', async () => {
    const sim = await camera({ framing: 'sony-ip', mode: 'on', needsSequenceReset: true, dropIncoming: [1] });
    const link = await openViscaIpLink({ host: HOST, port: sim.port, framing: 'sony-ip' }, { resetWaitMs: 50, retransmitMs: 1000 });
    const client = new ViscaClient(link);
    try {
      const info = await queryCamera(client, 1, { timeoutMs: 1500 });
      expect(info).toMatchObject({ power: 'on' });
      expect(link.stats().sequenceResets).toBe(2);
      expect(sim.sequenceResets).toBe(1);
    } finally {
      client.detach();
      await link.close();
    }
  });

  it('sends again what the network lost, in both directions', async () => {
    // Datagram 1 is the reset; 2 the power inquiry (lost on the way there); reply 2 is the power answer (lost on the way back).
    const sim = await camera({ framing: 'sony-ip', mode: 'on', dropIncoming: [2], dropReplies: [2] });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'sony-ip' }]);
    expect(device).toMatchObject({ status: 'ok', visca: { power: 'on', zoomPosition: 0x4000 } });
    expect(device.visca?.retransmitted).toBeGreaterThanOrEqual(2);
  });

  it.each(['sony-ip', 'raw-udp'] as const)('takes duplicated %s replies once each', async (framing) => {
    const sim = await camera({ framing, mode: 'on', duplicateReplies: true, zoom: 0x0abc });
    const link = await openViscaIpLink({ host: HOST, port: sim.port, framing });
    const client = new ViscaClient(link);
    try {
      // Several rounds: a duplicate of one answer must never be taken for the next.
      for (let round = 0; round < 3; round += 1) {
        expect(await queryCamera(client, 1, { timeoutMs: 1000 })).toMatchObject({ power: 'on', zoomPosition: 0x0abc, version: { modelId: 0x0519 } });
      }
      // A duplicate that arrives after the next inquiry left is late for Sony's sequence number; raw UDP tells it by its bytes.
      const { duplicatesDropped, staleDropped } = link.stats();
      expect(duplicatesDropped + staleDropped).toBeGreaterThanOrEqual(8);
    } finally {
      client.detach();
      await link.close();
    }
  });

  it('reports a datagram that is not Sony framing as garbled, quoting its bytes', async () => {
    const sim = await camera({ framing: 'sony-ip', mode: 'on', garbledDatagram: Uint8Array.of(0x01, 0x11, 0x00, 0x09, 0, 0, 0, 1, 0x90, 0x50, 0x02, 0xff) });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'sony-ip' }]);
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_GARBLED', raw: '0111000900000001905002ff' } });
    expect(device.error?.message).toMatch(/header says 9 payload bytes, datagram carries 4/);
  });
});

describe('"auto" framing', () => {
  it('meets silence from a Sony camera spoken to in bare bytes: it ignores framings it does not speak', async () => {
    const sim = await camera({ framing: 'sony-ip', mode: 'on' });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'raw-udp' }]);
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT', raw: '' } });
    expect(sim.received).toEqual([]);
    expect(sim.datagrams.length).toBeGreaterThan(1);
  });

  it('does not take a lenient raw camera that answers inside a Sony header for a Sony camera', async () => {
    const sim = await camera({ framing: 'raw-udp', mode: 'on', lenient: true });
    const device = await onlyDevice([{ host: HOST, port: sim.port, framing: 'auto' }]);
    expect(device).toMatchObject({ status: 'ok', connection: { framing: 'raw-udp' }, visca: { framingDetected: true } });
    expect(device.visca?.framingAttempts?.map((attempt) => `${attempt.framing}:${attempt.outcome}`)).toEqual(['sony-ip:garbled', 'raw-udp:answered']);
  });

  it('names every framing tried when none answers, and raises VISCA_NOT_ANSWERING with them', async () => {
    const sim = await camera({ framing: 'raw-udp', mode: 'silent' });
    const config = parseAgentConfig({ viscaIp: [{ host: HOST, port: sim.port, name: 'Back PTZ' }] });
    const cycle = await runProbeCycle([createViscaIpProbe(FAST)], { config, log: silentLogger });
    const [device] = cycle.devices;
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT' }, connection: { port: sim.port } });
    expect(device?.connection).not.toHaveProperty('framing');
    expect(device?.error?.message).toBe(`no VISCA framing answered (sony-ip on ${sim.port}: no reply; raw-udp on ${sim.port}: no reply; raw-tcp on ${sim.port}: ${device?.visca?.framingAttempts?.[2]?.detail})`);
    expect(device?.visca?.framingAttempts?.[2]).toMatchObject({ framing: 'raw-tcp', outcome: 'refused' });

    const faults = new FaultMonitor(config, null).detect(cycle);
    expect(faults).toEqual([expect.objectContaining({ code: 'VISCA_NOT_ANSWERING', source: 'visca-ip', deviceId: `visca-ip:${HOST}:1` })]);
    expect(faults[0]?.message).toMatch(new RegExp(`^Back PTZ does not answer on ${HOST}:${sim.port}: no VISCA framing answered`));
    expect(faults[0]?.evidence['framingAttempts']).toHaveLength(3);
    // The JSON of `probe --json` carries all of it and passes its schema.
    const json = probeResultSchema.parse(JSON.parse(JSON.stringify(probeResult(config, cycle, faults))));
    expect(json.faults[0]).toMatchObject({ code: 'VISCA_NOT_ANSWERING', severity: 'urgent', deviceId: `visca-ip:${HOST}:1` });
    expect(json.faults[0]?.evidence['framingAttempts']).toEqual(device?.visca?.framingAttempts);
    expect(json.faults[0]?.selfHelp.join(' ')).toMatch(/IP control \(VISCA over IP\)/);
    expect(json.devices[0]?.visca?.framingAttempts).toHaveLength(3);
  }, 10_000);

  it('remembers what it found, and searches again once the camera stops answering', async () => {
    const sim = await camera({ framing: 'raw-tcp', mode: 'on' });
    const config = parseAgentConfig({ viscaIp: [{ host: HOST, port: sim.port }] });
    const visca = createViscaIpProbe(FAST);
    await runProbeCycle([visca], { config, log: silentLogger });
    const before = sim.received.length;
    const second = await runProbeCycle([visca], { config, log: silentLogger });
    expect(second.devices[0]).toMatchObject({ status: 'ok', connection: { framing: 'raw-tcp' }, visca: { framingDetected: true } });
    expect(second.devices[0]?.visca?.framingAttempts).toBeUndefined();
    expect(sim.received.length - before).toBe(3);
  });
});

describe('raw VISCA over TCP', () => {
  it('reports a refused connection as VISCA_CONNECT_FAILED', async () => {
    const port = await closedPort();
    const device = await onlyDevice([{ host: HOST, port, framing: 'raw-tcp' }]);
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_CONNECT_FAILED' } });
    expect(device.error?.message).toMatch(new RegExp(`cannot connect to ${HOST}:${port} \\(raw-tcp\\): .*ECONNREFUSED`));
  });
});

describe('faults and remediation over IP', () => {
  it('raises VISCA_POWER_ERROR for a camera reporting it over the network', async () => {
    const sim = await camera({ framing: 'sony-ip', mode: 'power-error' });
    const config = parseAgentConfig({ viscaIp: [{ host: HOST, port: sim.port, framing: 'sony-ip' }] });
    const cycle = await runProbeCycle([createViscaIpProbe(FAST)], { config, log: silentLogger });
    expect(cycle.devices[0]).toMatchObject({ status: 'faulty' });
    expect(new FaultMonitor(config, null).detect(cycle).map((fault) => fault.code)).toEqual(['VISCA_POWER_ERROR']);
  });

  it.each(['sony-ip', 'raw-tcp'] as const)('brings a hung %s camera back with IF_Clear before raising anything', async (framing) => {
    const sim = await camera({ framing, mode: 'hung' });
    const config = parseAgentConfig({ viscaIp: [{ host: HOST, port: sim.port, framing }], hysteresis: { raiseAfterCycles: 1, clearAfterCycles: 1 } });
    const visca = createViscaIpProbe(FAST);
    const monitor = new FaultMonitor(config, null);
    const remediator = new Remediator({ config, log: silentLogger, probes: [visca], viscaReplyTimeoutMs: FAST.inquiryTimeoutMs });
    const raised = await monitor.observe(await runProbeCycle([visca], { config, log: silentLogger }), { remediator });
    expect(raised).toEqual([]);
    expect(monitor.active()).toEqual([]);
    // Power unanswered (over UDP sent again a few times), IF_Clear to the camera itself, then the re-probe finds it on.
    expect(withoutRepeats(hex(sim.received))).toEqual(['81090400ff', '81010001ff', '81090400ff', '81090447ff', '81090002ff']);
  }, 10_000);
});


/** Over UDP an unanswered inquiry is sent again; what matters is the order of what the camera got. */
function withoutRepeats(packets: readonly string[]): string[] {
  return packets.filter((packet, index) => packet !== packets[index - 1]);
}
