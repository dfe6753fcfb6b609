import { realpath } from 'node:fs/promises';
import { cpus, uptime } from 'node:os';
import { join } from 'node:path';
import si, { type Systeminformation } from 'systeminformation';
import { systemSnapshotSchema, type SystemSnapshot } from '../../protocol/index.js';
import { AVCARE_VERSION } from '../../protocol/version.js';
import type { Probe, ProbeFindings } from './probe.js';

/**
 * Pseudo and image filesystems that say nothing about the PC's disks: RAM-backed mounts, snap
 * packages (squashfs) and container layers. '/' is kept whatever its type, because inside a
 * container the root is an overlay and it is still the disk that fills up.
 */
const PSEUDO_FILESYSTEMS = new Set(['tmpfs', 'devtmpfs', 'ramfs', 'squashfs', 'overlay', 'efivarfs']);

/** What systeminformation returned, gathered so the mapping can be tested without the machine. */
export interface RawSystemData {
  os: Pick<Systeminformation.OsData, 'platform' | 'distro' | 'release' | 'arch' | 'hostname'>;
  load: Pick<Systeminformation.CurrentLoadData, 'currentLoad'> & { cpus: readonly unknown[] };
  memory: Pick<Systeminformation.MemData, 'total' | 'available'>;
  filesystems: ReadonlyArray<Pick<Systeminformation.FsSizeData, 'type' | 'size' | 'used' | 'use' | 'mount'>>;
  /** systeminformation types `main` as number but gives null when no sensor is readable. */
  temperature: { main: number | null };
  interfaces: ReadonlyArray<Pick<Systeminformation.NetworkInterfacesData, 'iface' | 'operstate' | 'speed' | 'ip4' | 'mac' | 'internal' | 'virtual'>>;
  /** Interfaces the OS itself calls virtual (Linux: under /sys/devices/virtual): bridges, docker0, tun. */
  virtualInterfaces: ReadonlySet<string>;
  uptimeSeconds: number;
}

export interface SystemProbeOptions {
  agentVersion?: string;
  /** Where Linux sysfs is mounted; injectable for tests. */
  sysRoot?: string;
}

/**
 * Reports the PC's health: OS, CPU load, memory, disks, temperature, network and uptime.
 *
 * CPU load: systeminformation keeps the previous /proc/stat sample in the module, so each call
 * measures the load since the previous call, i.e. over the last probe interval. On its first call
 * (5.33 and later) it samples over 500 ms instead of returning the since-boot average. That call
 * is made after the other queries have finished, so the shell commands systeminformation runs for
 * them do not count as load in that first short window.
 */
export function createSystemProbe(options: SystemProbeOptions = {}): Probe {
  const agentVersion = options.agentVersion ?? AVCARE_VERSION;
  const sysRoot = options.sysRoot ?? '/sys';
  return {
    id: 'system',
    async run(_context, signal): Promise<ProbeFindings> {
      const [os, memory, filesystems, temperature, interfaces] = await Promise.all([
        si.osInfo(),
        si.mem(),
        si.fsSize(),
        si.cpuTemperature(),
        si.networkInterfaces(),
      ]);
      signal.throwIfAborted();
      const load = await si.currentLoad();
      signal.throwIfAborted();
      const virtualInterfaces = await linuxVirtualInterfaces(
        interfaces.map((nic) => nic.iface),
        sysRoot,
        os.platform,
      );
      const system = toSystemSnapshot(
        { os, load, memory, filesystems, temperature, interfaces, virtualInterfaces, uptimeSeconds: uptime() },
        agentVersion,
      );
      return { state: 'ok', devices: [], system };
    },
  };
}

/** Maps systeminformation's answers onto the protocol, repairing the values it leaves NaN or out of range. */
export function toSystemSnapshot(raw: RawSystemData, agentVersion: string): SystemSnapshot {
  const snapshot: SystemSnapshot = {
    os: {
      platform: raw.os.platform,
      distro: raw.os.distro,
      release: raw.os.release,
      arch: raw.os.arch,
      hostname: raw.os.hostname,
    },
    cpu: {
      cores: Math.max(1, raw.load.cpus.length || cpus().length),
      loadPercent: percent(raw.load.currentLoad),
    },
    memory: {
      totalBytes: nonNegative(raw.memory.total),
      availableBytes: nonNegative(raw.memory.available),
    },
    disks: raw.filesystems
      .filter((fs) => fs.mount === '/' || !PSEUDO_FILESYSTEMS.has(fs.type))
      .filter((fs) => nonNegative(fs.size) > 0)
      .map((fs) => ({
        mount: fs.mount,
        fsType: fs.type,
        sizeBytes: nonNegative(fs.size),
        usedBytes: nonNegative(fs.used),
        // `use` is NaN or null when df printed "-"; recompute it from the byte counts then.
        usePercent: Number.isFinite(fs.use) ? percent(fs.use) : percent((nonNegative(fs.used) / fs.size) * 100),
      })),
    cpuTemperatureC: temperatureOrNull(raw.temperature.main),
    network: raw.interfaces
      .filter((nic) => !nic.internal)
      .map((nic) => {
        const entry: SystemSnapshot['network'][number] = {
          iface: nic.iface,
          up: nic.operstate === 'up',
          speedMbps: nic.speed !== null && Number.isFinite(nic.speed) && nic.speed > 0 ? nic.speed : null,
          virtual: nic.virtual || raw.virtualInterfaces.has(nic.iface),
        };
        if (nic.ip4 !== '') entry.ipv4 = nic.ip4;
        if (nic.mac !== '' && nic.mac !== '00:00:00:00:00:00') entry.mac = nic.mac;
        return entry;
      }),
    uptimeSeconds: nonNegative(raw.uptimeSeconds),
    agentVersion,
  };
  // The schema is the contract with the cloud: a value systeminformation got wrong fails here, named.
  return systemSnapshotSchema.parse(snapshot);
}

/**
 * systeminformation flags virtual NICs only by MAC prefix and a few names, which misses bridges
 * and docker0; on Linux the kernel places every virtual interface under /sys/devices/virtual/net.
 */
async function linuxVirtualInterfaces(names: readonly string[], sysRoot: string, platform: string): Promise<Set<string>> {
  const virtual = new Set<string>();
  if (platform !== 'linux') return virtual;
  await Promise.all(
    names
      .filter((name) => /^[\w.:@-]+$/.test(name))
      .map(async (name) => {
        try {
          const devicePath = await realpath(join(sysRoot, 'class', 'net', name));
          if (devicePath.includes('/devices/virtual/')) virtual.add(name);
        } catch (error) {
          // An interface that vanished between the two reads is simply not marked.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }),
  );
  return virtual;
}

function percent(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, value));
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Older systeminformation releases and some platforms report -1 or 0 for "no sensor". */
function temperatureOrNull(celsius: number | null): number | null {
  return celsius !== null && Number.isFinite(celsius) && celsius > 0 ? celsius : null;
}
