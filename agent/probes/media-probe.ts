import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Probe, ProbeFindings } from './probe.js';
import { readAudioCards } from './alsa.js';
import { readVideoNodes } from './v4l2.js';

/** What running an optional OS tool (v4l2-ctl, amixer) gave. */
export type CommandOutput =
  | { readonly status: 'ok'; readonly stdout: string }
  | { readonly status: 'not-installed' }
  | { readonly status: 'failed'; readonly reason: string };

export type RunCommand = (file: string, args: readonly string[], signal: AbortSignal) => Promise<CommandOutput>;

/** open() on a wedged UVC camera can block; a stuck v4l2-ctl must not eat the whole probe timeout. */
const COMMAND_TIMEOUT_MS = 3000;
const COMMAND_MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * Runs a tool without a shell. LC_ALL=C because v4l-utils and alsa-utils ship translations and a
 * classroom PC set to zh_CN would otherwise print labels the parsers do not know.
 */
export const runInstalledCommand: RunCommand = (file, args, signal) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { signal, timeout: COMMAND_TIMEOUT_MS, maxBuffer: COMMAND_MAX_OUTPUT_BYTES, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout) => {
        if (error === null) resolve({ status: 'ok', stdout });
        else if (error.code === 'ENOENT') resolve({ status: 'not-installed' });
        else resolve({ status: 'failed', reason: error.message });
      },
    );
  });

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
        return { state: 'unavailable', reason: `media nodes are read from Linux sysfs and procfs; this PC runs ${platform}`, devices: [] };
      }
      const video4linuxDir = join(sysRoot, 'class', 'video4linux');
      const asoundDir = join(procRoot, 'asound');
      const [hasVideo, hasAlsa] = await Promise.all([isDirectory(video4linuxDir), isDirectory(asoundDir)]);
      if (!hasVideo && !hasAlsa) {
        return {
          state: 'unavailable',
          reason: `no video4linux and no ALSA: this PC exposes no media devices (${video4linuxDir} and ${asoundDir} are absent)`,
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
