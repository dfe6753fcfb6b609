import { describe, expect, it } from 'vitest';
import { AvcareError, deviceSchema, type PjlinkInfo } from '../../protocol/index.js';
import { parseAgentConfig, type AgentConfigInput } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import type { queryPjlink } from './pjlink-client.js';
import { createPjlinkProbe, statusFromErrors } from './pjlink-probe.js';

type Query = typeof queryPjlink;

const healthy: PjlinkInfo = {
  pjlinkClass: '2',
  power: 'on',
  errors: { fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' },
  lamps: [{ hours: 1200, on: true }],
  name: 'Device name',
  manufacturer: 'EPSON',
  product: 'EB-X41',
  serialNumber: 'X5K1',
  authenticated: false,
};

async function runWith(query: Query, pjlink: NonNullable<AgentConfigInput['pjlink']>) {
  const probe = createPjlinkProbe({ query });
  const findings = await probe.run({ config: parseAgentConfig({ pjlink }), log: silentLogger }, new AbortController().signal);
  for (const device of findings.devices) deviceSchema.parse(device);
  return findings;
}

describe('createPjlinkProbe', () => {
  it('maps an answer to a projector device with make, model and serial number', async () => {
    const findings = await runWith(() => Promise.resolve(healthy), [{ host: '10.0.0.5' }]);
    expect(findings.state).toBe('ok');
    expect(findings.devices).toEqual([
      {
        id: 'pjlink:10.0.0.5:4352',
        kind: 'projector',
        name: 'Device name',
        make: 'EPSON',
        model: 'EB-X41',
        serialNumber: 'X5K1',
        connection: { type: 'network', host: '10.0.0.5', port: 4352, protocol: 'pjlink' },
        status: 'ok',
        pjlink: healthy,
      },
    ]);
  });

  it('prefers the configured name, then the device name, then "Projector at <host>"', async () => {
    const { name: _unnamed, ...withoutName } = healthy;
    const query: Query = (target) => Promise.resolve(target.host === 'b' ? withoutName : healthy);
    const findings = await runWith(query, [{ host: 'a', name: 'Front' }, { host: 'a', port: 4353 }, { host: 'b' }]);
    expect(findings.devices.map((device) => device.name)).toEqual(['Front', 'Device name', 'Projector at b']);
  });

  it('passes the password to the query but keeps it out of the device', async () => {
    const seen: Array<string | undefined> = [];
    const query: Query = (target) => {
      seen.push(target.password);
      return Promise.reject(new AvcareError('PJLINK_AUTH_FAILED', 'h rejected the configured PJLink password (PJLINK ERRA)'));
    };
    const findings = await runWith(query, [{ host: 'h', password: 'hunter2' }]);
    expect(seen).toEqual(['hunter2']);
    expect(findings.devices[0]).toMatchObject({ status: 'unreachable', error: { code: 'PJLINK_AUTH_FAILED' } });
    expect(JSON.stringify(findings)).not.toContain('hunter2');
  });

  it('carries the raw bytes of a protocol error as hex on the device', async () => {
    const query: Query = () => Promise.reject(new AvcareError('PJLINK_PROTOCOL_ERROR', 'not PJLink', { raw: 'SSH', rawHex: '535348' }));
    const findings = await runWith(query, [{ host: 'h' }]);
    expect(findings.devices[0]?.error).toEqual({ code: 'PJLINK_PROTOCOL_ERROR', message: 'not PJLink', raw: '535348' });
  });

  it('turns an unexpected failure of one target into PROBE_FAILED on that device only', async () => {
    const query: Query = (target) => (target.host === 'bad' ? Promise.reject(new Error('boom')) : Promise.resolve(healthy));
    const findings = await runWith(query, [{ host: 'bad' }, { host: 'good' }]);
    expect(findings.devices.map((device) => device.status)).toEqual(['unreachable', 'ok']);
    expect(findings.devices[0]?.error).toEqual({ code: 'PROBE_FAILED', message: 'boom' });
  });

  it('asks all targets at the same time', async () => {
    let inFlight = 0;
    let most = 0;
    const query: Query = async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return healthy;
    };
    await runWith(query, [{ host: 'a' }, { host: 'b' }, { host: 'c' }]);
    expect(most).toBe(3);
  });
});

describe('statusFromErrors', () => {
  const ok = healthy.errors;
  it("is faulty for any 'error', degraded for any 'warning', ok otherwise", () => {
    expect(statusFromErrors(ok)).toBe('ok');
    expect(statusFromErrors({ ...ok, filter: 'warning' })).toBe('degraded');
    expect(statusFromErrors({ ...ok, filter: 'warning', cover: 'error' })).toBe('faulty');
  });
});
