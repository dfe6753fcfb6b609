import { describe, expect, it } from 'vitest';
import { AvcareError, deviceSchema, type Device } from '../../protocol/index.js';
import { parseAgentConfig, type AgentConfigInput } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import { runProbe } from './probe.js';
import type { DiscoveredSerialPort } from './serial-discovery.js';
import { MockSerialLink, type openSerialLink } from './serial-link.js';
import { createSerialProbe } from './serial-probe.js';
import { fromHex, toHex } from './visca.js';

const SHORT_MS = 50;

/** What each path answers: a table of command hex -> reply hex, or an open failure. */
type FakePort = Record<string, string> | 'cannot-open';

function fakeOpen(ports: Record<string, FakePort>, opened: MockSerialLink[] = []): typeof openSerialLink {
  return (path) => {
    const port = ports[path];
    if (port === undefined || port === 'cannot-open') {
      return Promise.reject(new AvcareError('SERIAL_OPEN_FAILED', `cannot open serial port ${path}: No such file or directory`, { path }));
    }
    const link = new MockSerialLink();
    link.respond = (written, self) => {
      const reply = port[toHex(written)];
      if (reply !== undefined) setImmediate(() => self.emit(fromHex(reply)));
    };
    opened.push(link);
    return Promise.resolve(link);
  };
}

const SONY_ON = { '81090400ff': '90 50 02 FF', '81090447ff': '90 50 04 00 00 00 FF', '81090002ff': '90 50 00 01 05 19 01 30 02 FF' };

async function probeDevices(
  config: AgentConfigInput,
  ports: Record<string, FakePort>,
  discovered: DiscoveredSerialPort[] | Error = [],
): Promise<{ devices: Device[]; opened: MockSerialLink[]; discoverCalls: number }> {
  const opened: MockSerialLink[] = [];
  let discoverCalls = 0;
  const probe = createSerialProbe({
    open: fakeOpen(ports, opened),
    discover: () => {
      discoverCalls += 1;
      return discovered instanceof Error ? Promise.reject(discovered) : Promise.resolve(discovered);
    },
    inquiryTimeoutMs: SHORT_MS,
  });
  const result = await runProbe(probe, { config: parseAgentConfig(config), log: silentLogger }, 5000);
  expect(result.status.state).toBe('ok');
  for (const device of result.findings.devices) expect(deviceSchema.safeParse(device).success).toBe(true);
  return { devices: result.findings.devices, opened, discoverCalls };
}

describe('serial probe with configured VISCA cameras', () => {
  it('reports a Sony camera that is on as ok with zoom and version, and closes the port', async () => {
    const { devices, opened } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0', name: 'Front camera' }], discoverSerialPorts: false }, { '/dev/ttyUSB0': SONY_ON });
    expect(devices).toEqual([
      {
        id: 'serial:/dev/ttyUSB0',
        kind: 'camera',
        name: 'Front camera',
        make: 'Sony',
        connection: { type: 'serial', path: '/dev/ttyUSB0', protocol: 'visca', baudRate: 9600 },
        status: 'ok',
        visca: { address: 1, power: 'on', zoomPosition: 0x4000, version: { vendorId: 1, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 } },
      },
    ]);
    expect(opened.every((link) => link.closed)).toBe(true);
  });

  it('does not call a camera Sony when its vendor id is another', async () => {
    const { devices } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0' }], discoverSerialPorts: false }, {
      '/dev/ttyUSB0': { ...SONY_ON, '81090002ff': '90 50 00 20 00 01 00 01 02 FF' },
    });
    expect(devices[0]?.make).toBeUndefined();
    expect(devices[0]?.name).toBe('VISCA camera on /dev/ttyUSB0');
    expect(devices[0]?.visca?.version?.vendorId).toBe(0x0020);
  });

  it('marks a camera in standby ok and a power-circuit error faulty', async () => {
    const { devices } = await probeDevices(
      { serialPorts: [{ path: '/dev/ttyUSB0' }, { path: '/dev/ttyUSB1' }], discoverSerialPorts: false },
      { '/dev/ttyUSB0': { '81090400ff': '905003ff' }, '/dev/ttyUSB1': { '81090400ff': '905004ff' } },
    );
    expect(devices.map((device) => [device.status, device.visca?.power])).toEqual([
      ['ok', 'standby'],
      ['faulty', 'power-error'],
    ]);
  });

  it('marks a silent camera unreachable with VISCA_TIMEOUT and an empty raw', async () => {
    const { devices, opened } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0' }], discoverSerialPorts: false }, { '/dev/ttyUSB0': {} });
    expect(devices[0]).toMatchObject({ status: 'unreachable', visca: { address: 1, power: 'unknown' }, error: { code: 'VISCA_TIMEOUT', raw: '' } });
    expect(opened[0]?.closed).toBe(true);
  });

  it('marks a camera that answers with a VISCA error degraded, not unreachable', async () => {
    const { devices } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0' }], discoverSerialPorts: false }, { '/dev/ttyUSB0': { '81090400ff': '906041ff' } });
    expect(devices[0]).toMatchObject({ status: 'degraded', error: { code: 'VISCA_ERROR_REPLY', raw: '906041ff' } });
  });

  it('reports a port that cannot be opened and still probes the next one', async () => {
    const { devices } = await probeDevices(
      { serialPorts: [{ path: '/dev/ttyUSB9' }, { path: '/dev/ttyUSB0', address: 2 }], discoverSerialPorts: false },
      { '/dev/ttyUSB9': 'cannot-open', '/dev/ttyUSB0': { '82090400ff': 'a05003ff' } },
    );
    expect(devices[0]).toMatchObject({ id: 'serial:/dev/ttyUSB9', status: 'unreachable', error: { code: 'SERIAL_OPEN_FAILED' } });
    expect(devices[1]).toMatchObject({ id: 'serial:/dev/ttyUSB0', status: 'ok', visca: { address: 2, power: 'standby' } });
  });

  it('lists a configured port with protocol none without opening it', async () => {
    const { devices, opened } = await probeDevices({ serialPorts: [{ path: '/dev/ttyS0', protocol: 'none', name: 'Matrix switch' }], discoverSerialPorts: false }, {});
    expect(opened).toEqual([]);
    expect(devices).toEqual([
      { id: 'serial:/dev/ttyS0', kind: 'serial-adapter', name: 'Matrix switch', connection: { type: 'serial', path: '/dev/ttyS0', protocol: 'none', baudRate: 9600 }, status: 'unknown' },
    ]);
  });

  it('is ok with no ports at all', async () => {
    const { devices } = await probeDevices({ serialPorts: [], discoverSerialPorts: false }, {});
    expect(devices).toEqual([]);
  });
});

describe('serial probe discovery', () => {
  const byId = '/dev/serial/by-id/usb-FTDI_FT232R_A10K1234-if00-port0';

  it('lists discovered ports that are not configured, without opening them', async () => {
    const { devices, opened } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0' }], discoverSerialPorts: true }, { '/dev/ttyUSB0': SONY_ON }, [
      { path: byId, realPath: '/dev/ttyUSB1', byId: 'usb-FTDI_FT232R_A10K1234-if00-port0' },
      { path: '/dev/ttyUSB0', realPath: '/dev/ttyUSB0' },
    ]);
    expect(opened).toHaveLength(1);
    expect(devices.map((device) => [device.id, device.kind, device.status])).toEqual([
      ['serial:/dev/ttyUSB0', 'camera', 'ok'],
      [`serial:${byId}`, 'serial-adapter', 'unknown'],
    ]);
    expect(devices[1]?.connection).toEqual({ type: 'serial', path: byId, protocol: 'none', baudRate: 9600 });
    expect(devices[1]?.name).toBe('Serial port usb-FTDI_FT232R_A10K1234-if00-port0');
  });

  it('does not ask for discovery when it is turned off', async () => {
    const { discoverCalls } = await probeDevices({ serialPorts: [], discoverSerialPorts: false }, {});
    expect(discoverCalls).toBe(0);
  });

  it('keeps the configured cameras when discovery fails', async () => {
    const { devices } = await probeDevices({ serialPorts: [{ path: '/dev/ttyUSB0' }], discoverSerialPorts: true }, { '/dev/ttyUSB0': SONY_ON }, new Error('EACCES: /dev'));
    expect(devices.map((device) => device.id)).toEqual(['serial:/dev/ttyUSB0']);
  });

  it('strips control characters from names built out of by-id links', async () => {
    const { devices } = await probeDevices({ serialPorts: [], discoverSerialPorts: true }, {}, [
      { path: '/dev/serial/by-id/usb-Evil\u001b[2J\u0007', realPath: '/dev/ttyUSB3', byId: 'usb-Evil\u001b[2J\u0007' },
    ]);
    expect(devices[0]?.name).toBe('Serial port usb-Evil [2J');
  });
});
