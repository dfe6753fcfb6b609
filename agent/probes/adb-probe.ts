import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveStateDir } from '../state-dir.js';
import { PLATFORM_TRAITS, traitsFor } from '../platform/platform-traits.js';
import type { Probe, ProbeFindings } from './probe.js';
import { whenPresent } from './sysfs.js';

export interface AdbProbeOptions {
  sysRoot?: string;
  /** Injectable so the non-Linux answer can be tested on Linux. */
  platform?: NodeJS.Platform;
}

/** Android's ADB interface: vendor-specific class, subclass 0x42, protocol 1 (AOSP's adb_usb_interface). */
const ADB_INTERFACE = ['ff', '42', '01'];

/**
 * VR headsets over ADB. The probe looks first, cheaply, for a reason to speak ADB at all (a
 * configured headset, or an ADB interface in sysfs) and only then loads the ADB library, so a
 * classroom PC without headsets keeps its memory.
 */
export function createAdbProbe(options: AdbProbeOptions = {}): Probe {
  const sysRoot = options.sysRoot ?? '/sys';
  const { sysfs } = options.platform === undefined ? PLATFORM_TRAITS : traitsFor(options.platform);
  return {
    id: 'adb',
    timeoutMs: (config) => Math.max(config.probeTimeoutSeconds, config.vr.probeTimeoutSeconds) * 1000,
    async run(context, signal): Promise<ProbeFindings> {
      const { config } = context;
      // Elsewhere than Linux there is no sysfs to look in: ask the adb server or the bus each time.
      const lookOnUsb = config.vr.usb && (!sysfs || (await hasAdbInterface(sysRoot)));
      if (!lookOnUsb && config.vrHeadsets.length === 0) {
        return { state: 'unavailable', reason: 'no VR headset on USB and none configured (vrHeadsets)', reasonKey: 'sourceReason.noHeadsets', devices: [] };
      }
      const { probeHeadsets } = await import('../vr/headset-probe.js');
      return probeHeadsets({ config, stateDir: resolveStateDir(config), lookOnUsb, log: context.log.child({ probe: 'adb' }), signal });
    },
  };
}

/** Whether some USB device offers an ADB interface (a headset with USB debugging on, or any Android device). */
export async function hasAdbInterface(sysRoot: string): Promise<boolean> {
  const dir = join(sysRoot, 'bus', 'usb', 'devices');
  const names = (await whenPresent(() => readdir(dir))) ?? [];
  for (const name of names.filter((entry) => entry.includes(':'))) {
    const triple = await Promise.all(['bInterfaceClass', 'bInterfaceSubClass', 'bInterfaceProtocol'].map((file) => whenPresent(() => readFile(join(dir, name, file), 'utf8'))));
    if (triple.every((value, index) => value?.trim().toLowerCase() === ADB_INTERFACE[index])) return true;
  }
  return false;
}
