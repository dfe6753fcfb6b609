import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfigInput } from '../agent/config.js';
import { silentLogger } from '../protocol/log.js';
import { runProbe, type ProbeResult } from '../agent/probes/probe.js';
import { openSerialLink, type SerialLink } from '../agent/probes/serial-link.js';
import { createSerialProbe } from '../agent/probes/serial-probe.js';
import { deviceSchema, type Device } from '../protocol/index.js';
import { openPtyPair, type PtyPair } from './helpers/pty-pair.js';
import { startViscaCamera, type SimulatedViscaCamera, type ViscaCameraOptions } from './sim/visca-camera.js';

// The agent and a simulated camera talk over a real socat pty pair through serialport, so
// framing, timing, baud-rate setting and port closing are exercised for real.

const INQUIRY_TIMEOUT_MS = 300;
const PROBE_TIMEOUT_MS = 5000;

describe('openSerialLink on a real pty pair', () => {
  let pair: PtyPair;

  beforeAll(async () => {
    pair = await openPtyPair();
  });

  afterAll(async () => {
    await pair.close();
  });

  it('carries bytes both ways at 9600 8N1, closes idempotently and opens again', async () => {
    for (let round = 0; round < 2; round += 1) {
      const [a, b] = await Promise.all([openSerialLink(pair.a, 9600), openSerialLink(pair.b, 9600)]);
      const atB = collectHex(b, 5);
      const atA = collectHex(a, 4);
      await a.write(Uint8Array.of(0x81, 0x09, 0x04, 0x00, 0xff));
      expect(await atB).toBe('81090400ff');
      await b.write(Uint8Array.of(0x90, 0x50, 0x02, 0xff));
      expect(await atA).toBe('905002ff');
      await Promise.all([a.close(), b.close()]);
      await a.close();
    }
  });
});

/** A pty may deliver a packet in several chunks: gather `length` bytes. */
function collectHex(link: SerialLink, length: number): Promise<string> {
  return new Promise((resolve) => {
    let hex = '';
    link.onData((bytes) => {
      hex += Buffer.from(bytes).toString('hex');
      if (hex.length >= length * 2) resolve(hex);
    });
  });
}

describe('serial probe against a simulated VISCA camera on a pty', () => {
  let pair: PtyPair;
  let camera: SimulatedViscaCamera | undefined;

  beforeAll(async () => {
    pair = await openPtyPair();
  });

  afterEach(async () => {
    await camera?.close();
    camera = undefined;
  });

  afterAll(async () => {
    await pair.close();
  });

  async function startCamera(options: ViscaCameraOptions): Promise<SimulatedViscaCamera> {
    camera = await startViscaCamera(pair.b, options);
    return camera;
  }

  async function probe(serialPorts: AgentConfigInput['serialPorts']): Promise<ProbeResult> {
    const config = parseAgentConfig({ serialPorts, discoverSerialPorts: false });
    const result = await runProbe(createSerialProbe({ inquiryTimeoutMs: INQUIRY_TIMEOUT_MS }), { config, log: silentLogger }, PROBE_TIMEOUT_MS);
    expect(result.status).toMatchObject({ source: 'serial', state: 'ok' });
    for (const device of result.findings.devices) expect(deviceSchema.parse(device)).toEqual(device);
    return result;
  }

  async function probeOne(port: NonNullable<AgentConfigInput['serialPorts']>[number]): Promise<Device> {
    const { findings } = await probe([port]);
    expect(findings.devices).toHaveLength(1);
    const [device] = findings.devices;
    if (device === undefined) throw new Error('no device');
    return device;
  }

  it('reads power, zoom and version from a camera that is on, and names it Sony', async () => {
    const sim = await startCamera({ mode: 'on', zoom: 0x4000 });
    const device = await probeOne({ path: pair.a, name: 'Front camera' });
    expect(device).toEqual({
      id: `serial:${pair.a}`,
      kind: 'camera',
      name: 'Front camera',
      make: 'Sony',
      connection: { type: 'serial', path: pair.a, protocol: 'visca', baudRate: 9600 },
      status: 'ok',
      visca: { address: 1, power: 'on', zoomPosition: 0x4000, version: { vendorId: 1, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 } },
    });
    expect(sim.received.map((packet) => packet.toString('hex'))).toEqual(['81090400ff', '81090447ff', '81090002ff']);
  });

  it('reports a camera in standby as ok after the power inquiry alone', async () => {
    const sim = await startCamera({ mode: 'standby' });
    const device = await probeOne({ path: pair.a });
    expect(device).toMatchObject({ status: 'ok', visca: { address: 1, power: 'standby' } });
    expect(device.error).toBeUndefined();
    expect(sim.received.map((packet) => packet.toString('hex'))).toEqual(['81090400ff']);
  });

  it('reports a power-circuit error as a faulty camera', async () => {
    await startCamera({ mode: 'power-error' });
    const device = await probeOne({ path: pair.a });
    expect(device).toMatchObject({ status: 'faulty', visca: { power: 'power-error' } });
  });

  it('gives up on a silent camera within the inquiry timeout and reports VISCA_TIMEOUT', async () => {
    const sim = await startCamera({ mode: 'silent' });
    const { status, findings } = await probe([{ path: pair.a }]);
    expect(findings.devices[0]).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT', raw: '' } });
    expect(status.durationMs).toBeGreaterThanOrEqual(INQUIRY_TIMEOUT_MS - 10);
    expect(status.durationMs).toBeLessThan(INQUIRY_TIMEOUT_MS + 700);
    expect(sim.received).toHaveLength(1);
  });

  it('reports bytes without a terminator (a wrong baud rate) as VISCA_TIMEOUT carrying those bytes', async () => {
    await startCamera({ mode: 'garbage' });
    const device = await probeOne({ path: pair.a });
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT', raw: '129c503e007f' } });
    expect(device.error?.message).toContain('6 byte(s) arrived');
  });

  it('reports a truncated reply as VISCA_GARBLED carrying its bytes', async () => {
    await startCamera({ mode: 'garbage', garbage: Uint8Array.of(0x90, 0x50, 0xff) });
    const device = await probeOne({ path: pair.a });
    expect(device).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_GARBLED', raw: '9050ff' } });
  });

  it('waits for a slow camera that still answers within the timeout', async () => {
    await startCamera({ mode: 'standby', delayMs: 150 });
    const device = await probeOne({ path: pair.a });
    expect(device).toMatchObject({ status: 'ok', visca: { power: 'standby' } });
  });

  it('talks to camera 2 at 38400 baud when configured so', async () => {
    const sim = await startCamera({ mode: 'on', address: 2, baudRate: 38400, zoom: 0x1234 });
    const device = await probeOne({ path: pair.a, address: 2, baudRate: 38400 });
    expect(device).toMatchObject({ status: 'ok', connection: { baudRate: 38400 }, visca: { address: 2, power: 'on', zoomPosition: 0x1234 } });
    expect(sim.received[0]?.toString('hex')).toBe('82090400ff');
  });

  it('reports SERIAL_OPEN_FAILED for a missing port and still probes the camera after it', async () => {
    await startCamera({ mode: 'on' });
    const missing = `${pair.a}-missing`;
    const { findings } = await probe([{ path: missing }, { path: pair.a }]);
    expect(findings.devices[0]).toMatchObject({ id: `serial:${missing}`, status: 'unreachable', error: { code: 'SERIAL_OPEN_FAILED' } });
    expect(findings.devices[0]?.error?.message).toContain(missing);
    expect(findings.devices[1]).toMatchObject({ id: `serial:${pair.a}`, status: 'ok' });
  });

  it('does not take a late answer to the previous cycle for the answer to this one', async () => {
    // The camera answers "on" after the agent gave up and closed the port. Linux drops input on
    // a closed tty, the link flushes on open and the client drops bytes nobody asked for: this
    // checks the whole chain keeps the stale "on" out of the next cycle.
    await startCamera({ mode: 'on', delayMs: INQUIRY_TIMEOUT_MS + 100 });
    expect(await probeOne({ path: pair.a })).toMatchObject({ status: 'unreachable', error: { code: 'VISCA_TIMEOUT' } });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await camera?.close();
    await startCamera({ mode: 'standby' });
    expect(await probeOne({ path: pair.a })).toMatchObject({ status: 'ok', visca: { power: 'standby' } });
  });

  it('closes the port after each cycle, so the next cycle can open it again', async () => {
    await startCamera({ mode: 'on' });
    await probeOne({ path: pair.a });
    camera?.setMode('standby');
    const device = await probeOne({ path: pair.a });
    expect(device.visca?.power).toBe('standby');
  });
});
