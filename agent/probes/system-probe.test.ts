import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import { systemSnapshotSchema } from '../../protocol/index.js';
import { parseAgentConfig } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import { AVCARE_VERSION } from '../../protocol/version.js';
import { runProbe, type ProbeContext } from './probe.js';
import { createSystemProbe, toSystemSnapshot, type RawSystemData } from './system-probe.js';

const context: ProbeContext = { config: parseAgentConfig({}), log: silentLogger };

describe('createSystemProbe on this PC', () => {
  it('returns a snapshot that parses with systemSnapshotSchema, well inside the 10 s probe timeout', async () => {
    const result = await runProbe(createSystemProbe(), context, 10_000);

    expect(result.status.state).toBe('ok');
    // Measured here: about 0.7 s for the first run (0.5 s of it is the first CPU-load sample).
    expect(result.status.durationMs).toBeLessThan(5_000);
    const system = systemSnapshotSchema.parse(result.findings.system);
    expect(result.findings.devices).toEqual([]);
    expect(system.cpu.cores).toBe(cpus().length);
    expect(system.agentVersion).toBe(AVCARE_VERSION);
    expect(system.memory.totalBytes).toBeGreaterThan(system.memory.availableBytes);
    expect(system.uptimeSeconds).toBeGreaterThan(0);
    if (process.platform === 'linux') {
      expect(system.disks.map((disk) => disk.mount)).toContain('/');
      expect(system.disks.filter((disk) => disk.mount !== '/' && ['tmpfs', 'overlay', 'squashfs'].includes(disk.fsType))).toEqual([]);
      expect(system.network.map((nic) => nic.iface)).not.toContain('lo');
    }
  });

  it('runs again quickly once the CPU-load baseline exists, and reports the given agent version', async () => {
    const probe = createSystemProbe({ agentVersion: '9.9.9-test' });
    await probe.run(context, new AbortController().signal);
    const started = performance.now();
    const findings = await probe.run(context, new AbortController().signal);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(systemSnapshotSchema.parse(findings.system).agentVersion).toBe('9.9.9-test');
  });
});

function raw(overrides: Partial<RawSystemData> = {}): RawSystemData {
  return {
    os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', arch: 'x64', hostname: 'room-101' },
    load: { currentLoad: 12.5, cpus: [{}, {}, {}, {}] },
    memory: { total: 8e9, available: 3e9 },
    filesystems: [{ type: 'ext4', size: 256e9, used: 64e9, use: 25, mount: '/' }],
    temperature: { main: 48 },
    interfaces: [],
    virtualInterfaces: new Set(),
    uptimeSeconds: 3600,
    ...overrides,
  };
}

describe('toSystemSnapshot', () => {
  it('clamps a CPU load above 100 and turns a NaN load into 0', () => {
    expect(toSystemSnapshot(raw({ load: { currentLoad: 100.4, cpus: [{}] } }), '1').cpu.loadPercent).toBe(100);
    expect(toSystemSnapshot(raw({ load: { currentLoad: Number.NaN, cpus: [{}] } }), '1').cpu.loadPercent).toBe(0);
    expect(toSystemSnapshot(raw({ load: { currentLoad: -0.2, cpus: [{}] } }), '1').cpu.loadPercent).toBe(0);
  });

  it('keeps real disks and an overlay root, and drops tmpfs, snaps, container layers and empty mounts', () => {
    const snapshot = toSystemSnapshot(
      raw({
        filesystems: [
          { type: 'overlay', size: 100e9, used: 40e9, use: 40, mount: '/' },
          { type: 'ext4', size: 500e9, used: 100e9, use: 20, mount: '/home' },
          { type: 'vfat', size: 512e6, used: 6e6, use: 1.2, mount: '/boot/efi' },
          { type: 'tmpfs', size: 4e9, used: 0, use: 0, mount: '/run' },
          { type: 'devtmpfs', size: 4e9, used: 0, use: 0, mount: '/dev' },
          { type: 'squashfs', size: 60e6, used: 60e6, use: 100, mount: '/snap/core22/1380' },
          { type: 'overlay', size: 100e9, used: 40e9, use: 40, mount: '/var/lib/docker/overlay2/abc/merged' },
          { type: 'ext4', size: 0, used: 0, use: Number.NaN, mount: '/mnt/empty' },
        ],
      }),
      '1',
    );
    expect(snapshot.disks.map((disk) => [disk.mount, disk.fsType])).toEqual([
      ['/', 'overlay'],
      ['/home', 'ext4'],
      ['/boot/efi', 'vfat'],
    ]);
  });

  it('recomputes a NaN use percent from the byte counts and clamps one above 100', () => {
    const snapshot = toSystemSnapshot(
      raw({
        filesystems: [
          { type: 'ext4', size: 200, used: 50, use: Number.NaN, mount: '/' },
          { type: 'xfs', size: 100, used: 105, use: 105, mount: '/data' },
        ],
      }),
      '1',
    );
    expect(snapshot.disks.map((disk) => disk.usePercent)).toEqual([25, 100]);
  });

  it('reports no temperature when the PC has no readable sensor (null, or -1 from some platforms)', () => {
    expect(toSystemSnapshot(raw({ temperature: { main: null } }), '1').cpuTemperatureC).toBeNull();
    expect(toSystemSnapshot(raw({ temperature: { main: -1 } }), '1').cpuTemperatureC).toBeNull();
    expect(toSystemSnapshot(raw({ temperature: { main: 61.5 } }), '1').cpuTemperatureC).toBe(61.5);
  });

  it('drops loopback, omits empty addresses, turns an unknown speed into null and marks kernel-virtual interfaces', () => {
    const nic = { operstate: 'up', speed: 1000, ip4: '', mac: '', internal: false, virtual: false };
    const snapshot = toSystemSnapshot(
      raw({
        interfaces: [
          { ...nic, iface: 'lo', operstate: 'unknown', ip4: '127.0.0.1', mac: '00:00:00:00:00:00', internal: true },
          { ...nic, iface: 'enp3s0', ip4: '192.168.10.21', mac: '3c:52:82:11:22:33' },
          { ...nic, iface: 'wlp2s0', operstate: 'down', speed: -1, mac: '00:00:00:00:00:00' },
          { ...nic, iface: 'docker0', speed: null, ip4: '172.17.0.1', mac: '02:42:ac:11:00:02' },
        ],
        virtualInterfaces: new Set(['docker0']),
      }),
      '1',
    );
    expect(snapshot.network).toEqual([
      { iface: 'enp3s0', up: true, speedMbps: 1000, ipv4: '192.168.10.21', mac: '3c:52:82:11:22:33', virtual: false },
      { iface: 'wlp2s0', up: false, speedMbps: null, virtual: false },
      { iface: 'docker0', up: true, speedMbps: null, ipv4: '172.17.0.1', mac: '02:42:ac:11:00:02', virtual: true },
    ]);
  });

  it('counts the cores from the load sample', () => {
    expect(toSystemSnapshot(raw(), '1').cpu.cores).toBe(4);
  });
});
