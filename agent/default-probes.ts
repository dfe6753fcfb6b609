import type { ProbeSource } from '../protocol/index.js';
import { createAdbProbe } from './probes/adb-probe.js';
import { currentPlatform } from './platform/platform.js';
import { createPjlinkProbe } from './probes/pjlink-probe.js';
import type { Probe } from './probes/probe.js';
import { createSerialProbe } from './probes/serial-probe.js';
import { createSystemProbe } from './probes/system-probe.js';
import { createUsbProbe } from './probes/usb-probe.js';
import { createViscaIpProbe } from './probes/visca-ip-probe.js';

const FACTORIES: Record<ProbeSource, () => Probe> = {
  system: () => createSystemProbe(),
  // usb.ids is opened by the probe, on a PC that has a USB bus.
  usb: () => createUsbProbe(),
  // What the OS knows of its media devices differs by platform: sysfs and ALSA, or Plug and Play.
  media: () => currentPlatform().createMediaProbe(),
  serial: () => createSerialProbe(),
  pjlink: () => createPjlinkProbe(),
  'visca-ip': () => createViscaIpProbe(),
  adb: () => createAdbProbe(),
};

export const ALL_SOURCES: readonly ProbeSource[] = ['system', 'usb', 'media', 'serial', 'pjlink', 'visca-ip', 'adb'];

export function createProbes(sources: readonly ProbeSource[] = ALL_SOURCES): Probe[] {
  return sources.map((source) => FACTORIES[source]());
}
