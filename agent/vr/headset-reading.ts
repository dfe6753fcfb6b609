/**
 * One headset read live: the same commands a support engineer would paste, run over ADB, their
 * answers read by the same code that reads a paste (headset-capture.ts), so the probe and
 * `probe --replay` cannot disagree about what an answer means.
 */
import type { Device } from '../../protocol/index.js';
import { headsetFromSections, type Section } from './headset-capture.js';
import type { HeadsetShell } from './headset-shell.js';

interface HeadsetCommand {
  command: string;
  maxBytes: number;
  keep?: 'head' | 'tail';
  /** Run only when the answers so far call for it. */
  when?: (answered: readonly Section[]) => boolean;
}

const KB = 1024;

/** The commands of one reading; app names come from the validated config, so they are plain package names. */
export function headsetCommands(apps: readonly string[], today: string | null): HeadsetCommand[] {
  // dropbox keeps an entry when every search word is its tag or part of its date: today's crashes only.
  const day = today ? ` ${today}` : '';
  return [
    { command: 'getprop', maxBytes: 256 * KB },
    { command: 'dumpsys battery', maxBytes: 16 * KB },
    { command: 'dumpsys thermalservice', maxBytes: 64 * KB },
    { command: 'df /data', maxBytes: 4 * KB },
    { command: 'cmd wifi status', maxBytes: 16 * KB },
    { command: 'dumpsys OVRRemoteService', maxBytes: 64 * KB },
    // Controllers from Bluetooth only where Meta's service named none (Pico, Vive): the dump is large.
    { command: 'dumpsys bluetooth_manager', maxBytes: 256 * KB, when: (answered) => !answered.some((section) => section.command.includes('OVRRemoteService') && section.text.includes('Paired device:')) },
    ...apps.flatMap((app) => [
      { command: `dumpsys package ${app}`, maxBytes: 128 * KB },
      { command: `pidof ${app}`, maxBytes: KB },
    ]),
    ...(apps.length > 0
      ? [
          { command: `dumpsys dropbox --print${day} data_app_crash`, maxBytes: 256 * KB, keep: 'tail' as const },
          { command: `dumpsys dropbox --print${day} data_app_anr`, maxBytes: 256 * KB, keep: 'tail' as const },
        ]
      : []),
  ];
}

export interface HeadsetReadingOptions {
  apps: readonly string[];
  crashWindowMinutes: number;
  commandTimeoutMs: number;
  signal: AbortSignal;
}

export interface HeadsetReading {
  /** Null when not even one answer told what the headset is. */
  device: Device | null;
  /** The commands that got no answer: the headset left mid-probe, or a command hung. */
  unreadable: string[];
  /** Why reading stopped early, for the device's error. */
  stoppedBy?: string;
}

/** Reads one authorized headset; a command that fails ends the reading (the headset is gone), keeping what was read. */
export async function readLiveHeadset(shell: HeadsetShell, options: HeadsetReadingOptions): Promise<HeadsetReading> {
  const { signal, commandTimeoutMs } = options;
  const unreadable: string[] = [];
  let stoppedBy: string | undefined;
  let now: string | null = null;
  try {
    now = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.exec((await shell.run("date '+%Y-%m-%d %H:%M:%S'", { maxBytes: 64, timeoutMs: commandTimeoutMs, signal })).trim())?.[0] ?? null;
  } catch (error) {
    stoppedBy = (error as Error).message;
  }
  const sections: Section[] = [];
  const commands = headsetCommands(options.apps, now?.slice(0, 10) ?? null);
  for (const { command, maxBytes, keep, when } of commands) {
    if (when && stoppedBy === undefined && !when(sections)) continue;
    if (stoppedBy !== undefined) {
      unreadable.push(command);
      continue;
    }
    try {
      sections.push({ command: `shell ${command}`, text: await shell.run(command, { maxBytes, timeoutMs: commandTimeoutMs, signal, ...(keep ? { keep } : {}) }) });
    } catch (error) {
      unreadable.push(command);
      stoppedBy = `\`${command}\`: ${(error as Error).message}`;
    }
  }
  const { device } = headsetFromSections(sections, '', options.apps);
  if (device?.vr) {
    if (now) {
      const since = minutesBefore(now, options.crashWindowMinutes);
      for (const app of device.vr.apps) app.crashes = app.crashes.filter((crash) => crash.at >= since);
    }
    if (unreadable.length > 0) device.vr.unreadable = unreadable.slice(0, 16).map((command) => command.slice(0, 64));
  }
  return { device, unreadable, ...(stoppedBy !== undefined ? { stoppedBy } : {}) };
}

/** "2026-12-07 09:30:00" minus 60 minutes, in the headset's own clock (no time zone needed: both sides are its local time). */
export function minutesBefore(local: string, minutes: number): string {
  const asUtc = new Date(`${local.replace(' ', 'T')}Z`);
  return new Date(asUtc.getTime() - minutes * 60_000).toISOString().replace('T', ' ').slice(0, 19);
}
