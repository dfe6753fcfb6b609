import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Probe, ProbeFindings } from './probe.js';
import { readAudioCards } from './alsa.js';
import { readVideoNodes } from './v4l2.js';
import { runInstalledCommand, type RunCommand } from './run-command.js';

export interface MediaProbeOptions {
  sysRoot?: string;
  procRoot?: string;
  devRoot?: string;
  runCommand?: RunCommand;
  /** Injectable so the non-Linux answer can be tested on Linux. */
  platform?: NodeJS.Platform;
}

/**
 * Lists the OS media nodes: v4l2 video nodes from sysfs and ALSA cards from procfs. The nodes are
 * matched to USB devices after the cycle (media-match.ts), so this probe reports no devices itself.
 */
export function createMediaProbe(options: MediaProbeOptions = {}): Probe {
  const sysRoot = options.sysRoot ?? '/sys';
  const procRoot = options.procRoot ?? '/proc';
  const devRoot = options.devRoot ?? '/dev';
  const runCommand = options.runCommand ?? runInstalledCommand;
  const platform = options.platform ?? process.platform;

  return {
    id: 'media',
    async run(_context, signal): Promise<ProbeFindings> {
      if (platform !== 'linux') {
        return { state: 'unavailable', reason: `media nodes are read from Linux sysfs and procfs; this PC runs ${platform}`, reasonKey: 'sourceReason.mediaNotLinux', reasonParams: { platform }, devices: [] };
      }
      const video4linuxDir = join(sysRoot, 'class', 'video4linux');
      const asoundDir = join(procRoot, 'asound');
      const [hasVideo, hasAlsa] = await Promise.all([isDirectory(video4linuxDir), isDirectory(asoundDir)]);
      if (!hasVideo && !hasAlsa) {
        return {
          state: 'unavailable',
          reason: `no video4linux and no ALSA: this PC exposes no media devices (${video4linuxDir} and ${asoundDir} are absent)`,
          reasonKey: 'sourceReason.noMedia',
          reasonParams: { video: video4linuxDir, audio: asoundDir },
          devices: [],
        };
      }
      const [videoNodes, audioCards] = await Promise.all([
        hasVideo ? readVideoNodes({ sysRoot, devRoot, runCommand, signal }) : [],
        hasAlsa ? readAudioCards({ sysRoot, procRoot, runCommand, signal }) : [],
      ]);
      return { state: 'ok', devices: [], media: { videoNodes, audioCards } };
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
