/**
 * The headsets of this room, read over ADB: those on USB (through the PC's adb server when one runs,
 * else directly) and those configured by address. Loaded only on a PC that has headsets, so the
 * ADB library costs nothing elsewhere. Every headset becomes a device, whatever happened to it:
 * one that refused the key is "not authorized", one that left mid-probe keeps what was read.
 */
import { AvcareError } from '../../protocol/errors.js';
import type { Device } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../../protocol/log.js';
import type { ProbeFindings } from '../probes/probe.js';
import { StateDirAdbKeys } from './adb-key.js';
import { connectNetworkHeadset, serverHeadsets, usbHeadsets, type HeadsetLink } from './adb-connect.js';
import { readLiveHeadset } from './headset-reading.js';
import { adbShell, type HeadsetShell } from './headset-shell.js';

export interface HeadsetProbeOptions {
  config: Pick<AgentConfig, 'vrHeadsets' | 'vr'>;
  stateDir: string;
  /** Look on USB: an ADB interface is on the bus, or the platform cannot tell. */
  lookOnUsb: boolean;
  log: Logger;
  signal: AbortSignal;
  /** Tests give the shell of a simulated headset. */
  shellOf?: (link: HeadsetLink) => HeadsetShell;
}

/** Headsets read at once: enough to read a cart of 30 within the probe's time, few enough not to flood the Wi-Fi. */
const PARALLEL = 4;
export const COMMAND_TIMEOUT_MS = 5000;

export async function probeHeadsets(options: HeadsetProbeOptions): Promise<ProbeFindings> {
  const links = await openHeadsetLinks(options);
  try {
    const devices = await inBatches(links, PARALLEL, (link) => deviceOf(link, options));
    return { state: 'ok', devices: withoutRepeats(devices) };
  } finally {
    await closeHeadsetLinks(links);
  }
}

/** Every headset this PC can reach, each connected, refused or unreachable; the caller closes them. */
export async function openHeadsetLinks(options: Pick<HeadsetProbeOptions, 'config' | 'stateDir' | 'lookOnUsb' | 'log' | 'signal'>): Promise<HeadsetLink[]> {
  const { config, signal, log } = options;
  const keys = new StateDirAdbKeys(options.stateDir);
  await keys.ensure().catch((error: unknown) => {
    throw new AvcareError('STATE_UNWRITABLE', `cannot keep this PC's ADB key in ${options.stateDir}: ${(error as Error).message}`, { stateDir: options.stateDir });
  });
  const waitMs = config.vr.authorizeWaitSeconds * 1000;
  const links: HeadsetLink[] = [];
  if (options.lookOnUsb) {
    const viaServer = await serverHeadsets(config.vr.adbServerPort, signal);
    links.push(...(viaServer ?? (await usbHeadsets(keys, waitMs, signal).catch((error: unknown) => {
      log.warn({ err: error }, 'cannot list USB headsets');
      return [];
    }))));
  }
  links.push(...(await inBatches(config.vrHeadsets, PARALLEL, (target) => connectNetworkHeadset(target, keys, waitMs, signal))));
  return links;
}

export async function closeHeadsetLinks(links: readonly HeadsetLink[]): Promise<void> {
  await Promise.allSettled(links.flatMap((link) => (link.close ? [link.close()] : link.adb ? [link.adb.close()] : [])));
}

export async function deviceOf(link: HeadsetLink, options: Pick<HeadsetProbeOptions, 'config' | 'signal' | 'shellOf'>): Promise<Device> {
  const placeholder = headsetPlaceholder(link);
  if (link.state !== 'connected' || !link.adb) return placeholder;
  const shell = options.shellOf?.(link) ?? adbShell(link.adb);
  const reading = await readLiveHeadset(shell, { apps: options.config.vr.apps, crashWindowMinutes: options.config.vr.crashWindowMinutes, commandTimeoutMs: COMMAND_TIMEOUT_MS, signal: options.signal });
  const device = reading.device ?? placeholder;
  device.connection = placeholder.connection;
  if (link.name) device.name = `${link.name} (${device.name})`.slice(0, 256);
  if (!reading.device && reading.stoppedBy === undefined) {
    // It answered every command, and none of the answers said what it is: not a headset we can read.
    device.status = 'unknown';
    device.error = { code: 'ADB_COMMAND_FAILED', message: 'it answered over ADB but no answer could be read (getprop, dumpsys battery)' };
  } else if (reading.stoppedBy !== undefined) {
    device.status = reading.device ? 'degraded' : 'unreachable';
    device.error = { code: 'ADB_COMMAND_FAILED', message: `read ${reading.unreadable.length === 0 ? 'all' : `all but ${reading.unreadable.length}`} of its commands; stopped at ${reading.stoppedBy}`.slice(0, 500) };
  }
  return device;
}

/** What is known of a headset before (or instead of) reading it. */
function headsetPlaceholder(link: HeadsetLink): Device {
  const label = link.name ?? link.model ?? `VR headset ${link.serial}`;
  const device: Device = {
    id: `adb:${link.serial}`.slice(0, 320),
    kind: 'vr-headset',
    name: label.slice(0, 256),
    connection: link.via === 'network' && link.address ? networkConnection(link.address) : { type: 'os', path: `adb:${link.serial}` },
    status: link.state === 'unreachable' ? 'unreachable' : link.state === 'unauthorized' ? 'faulty' : 'ok',
    vr: { authorized: link.state !== 'unauthorized', controllers: [], apps: [] },
  };
  if (link.via !== 'network') device.serialNumber = link.serial.slice(0, 256);
  if (link.model) device.model = link.model.slice(0, 256);
  if (link.state === 'unreachable') device.error = { code: 'ADB_UNREACHABLE', message: (link.problem ?? 'no answer').slice(0, 500) };
  return device;
}

function networkConnection(address: string): Device['connection'] {
  const cut = address.lastIndexOf(':');
  return { type: 'network', host: address.slice(0, cut), port: Number(address.slice(cut + 1)), protocol: 'adb' };
}

/** A headset on the cart's USB and also configured by its Wi-Fi address is one headset: keep the USB reading. */
function withoutRepeats(devices: Device[]): Device[] {
  const seen = new Set<string>();
  return devices.filter((device) => {
    if (seen.has(device.id)) return false;
    seen.add(device.id);
    return true;
  });
}

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}
