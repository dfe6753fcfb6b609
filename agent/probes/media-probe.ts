import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Probe, ProbeFindings } from './probe.js';
import { readAudioCards } from './alsa.js';
import { readVideoNodes } from './v4l2.js';
import { runInstalledCommand, type RunCommand } from './run-command.js';
import { whenPresent } from './sysfs.js';

export interface MediaProbeOptions {
  sysRoot?: string;
  procRoot?: string;
  devRoot?: string;
  runCommand?: RunCommand;
}

/**
 * Lists the OS media nodes: v4l2 video nodes from sysfs, ALSA cards from procfs, and the HID
 * devices a touch panel becomes. The nodes are matched to USB devices after the cycle
 * (media-match.ts, touch-match.ts), so this probe reports no devices itself.
 */
export function createMediaProbe(options: MediaProbeOptions = {}): Probe {
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const devRoot = options.devRoot ?? '/dev';
  const runCommand = options.runCommand ?? runInstalledCommand;

  return {
    id: 'media',
    async run(_context, signal): Promise<ProbeFindings> {
      const video4linuxDir = join(sysRoot, 'class', 'video4linux');
      const asoundDir = join(procRoot, 'asound');
      const hidDir = join(sysRoot, 'bus', 'hid', 'devices');
      const [hasVideo, hasAlsa, hidCount] = await Promise.all([isDirectory(video4linuxDir), isDirectory(asoundDir), whenPresent(() => readdir(hidDir)).then((names) => names?.length ?? 0)]);
      if (!hasVideo && !hasAlsa && hidCount === 0) {
        return {
          state: 'unavailable',
          reason: `no video4linux and no ALSA: this PC exposes no media devices (${video4linuxDir} and ${asoundDir} are absent)`,
          reasonKey: 'sourceReason.noMedia',
          reasonParams: { video: video4linuxDir, audio: asoundDir },
          devices: [],
        };
      }
      const [videoNodes, audioCards, touch] = await Promise.all([
        hasVideo ? readVideoNodes({ sysRoot, devRoot, runCommand, signal }) : [],
        hasAlsa ? readAudioCards({ sysRoot, procRoot, runCommand, signal }) : [],
        // The HID readers are loaded only on a PC that has HID devices: most cycles never need them.
        hidCount > 0 ? import('../touch/touch-nodes.js').then(({ readTouchNodes }) => readTouchNodes({ sysRoot, procRoot })) : undefined,
      ]);
      return { state: 'ok', devices: [], media: { videoNodes, audioCards }, ...(touch === undefined ? {} : { touch }) };
    },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
