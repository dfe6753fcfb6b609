import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** One IPv4 network this PC is on: where a search broadcast may go, and nowhere else. */
export interface LocalNetwork {
  interface: string;
  address: string;
  prefix: number;
  broadcast: string;
}

export interface NetworkSelection {
  /** Only this interface (a PC with a classroom and an office network searches the classroom one). */
  interface?: string;
}

/**
 * The PC's IPv4 networks that can take a broadcast: loopback, /31 and /32 are left out (nothing
 * else is on them), and so is IPv6, whose PJLink and VISCA searches no device implements.
 */
export function localNetworks(selection: NetworkSelection = {}, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): LocalNetwork[] {
  const networks: LocalNetwork[] = [];
  for (const [name, addresses] of Object.entries(interfaces)) {
    if (selection.interface !== undefined && name !== selection.interface) continue;
    for (const entry of addresses ?? []) {
      if (entry.family !== 'IPv4' || entry.internal || entry.cidr === null) continue;
      const prefix = Number(entry.cidr.split('/')[1]);
      if (!Number.isInteger(prefix) || prefix > 30) continue;
      networks.push({ interface: name, address: entry.address, prefix, broadcast: broadcastOf(entry.address, prefix) });
    }
  }
  return networks;
}

export function broadcastOf(address: string, prefix: number): string {
  const host = prefix === 0 ? 0xffff_ffff : (1 << (32 - prefix)) - 1;
  return fromInt((toInt(address) | host) >>> 0);
}

export function contains(network: Pick<LocalNetwork, 'address' | 'prefix'>, address: string): boolean {
  if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return false;
  const mask = network.prefix === 0 ? 0 : (0xffff_ffff << (32 - network.prefix)) >>> 0;
  return ((toInt(address) & mask) >>> 0) === ((toInt(network.address) & mask) >>> 0);
}

function toInt(address: string): number {
  return address.split('.').reduce((value, part) => ((value << 8) | Number(part)) >>> 0, 0);
}

function fromInt(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}
