/**
 * What a remote engineer may do to a headset inside a consented session: read it whole
 * (`vr-status`), restart one of the class's configured apps (`vr-app-restart`), read that app's
 * last crash records (`vr-crash-log`). Only the configured apps, only fixed commands: the engineer
 * names a headset and an app, never a command. Loaded only when such an action runs.
 */
import { AvcareError } from '../../protocol/errors.js';
import type { Device } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import type { AgentConfig } from '../config.js';
import { crashExcerpts, readRunning } from './adb-outputs.js';
import type { HeadsetLink } from './adb-connect.js';
import { closeHeadsetLinks, COMMAND_TIMEOUT_MS, deviceOf, openHeadsetLinks } from './headset-probe.js';
import { adbShell, type HeadsetShell } from './headset-shell.js';

export interface HeadsetAccess {
  config: Pick<AgentConfig, 'vrHeadsets' | 'vr'>;
  stateDir: string;
  lookOnUsb: boolean;
  log: Logger;
  /** How long a restarted app may take to show a process (tests shorten it). */
  startWaitMs?: number;
}

type Work<T> = (link: HeadsetLink, shell: HeadsetShell) => Promise<T>;

/** Finds the named headset (its configured name, serial, `adb:SERIAL` id or address), connected, and runs `work` on it. */
async function withHeadset<T>(access: HeadsetAccess, wanted: string, signal: AbortSignal, work: Work<T>): Promise<T> {
  const links = await openHeadsetLinks({ ...access, signal });
  try {
    const named = (link: HeadsetLink): boolean => [link.name, link.serial, `adb:${link.serial}`, link.address].includes(wanted);
    let found = links.find(named);
    if (!found) {
      // A Wi-Fi headset is known by its address until asked: ask each for its serial.
      for (const link of links.filter((candidate) => candidate.adb)) {
        const serial = (await adbShell(link.adb as NonNullable<HeadsetLink['adb']>).run('getprop ro.serialno', { maxBytes: 256, timeoutMs: COMMAND_TIMEOUT_MS, signal }).catch(() => '')).trim();
        if (serial === wanted || `adb:${serial}` === wanted) found = link;
        if (found) break;
      }
    }
    if (!found) {
      const known = links.map((link) => link.name ?? link.serial);
      throw new AvcareError('INVALID_ARGUMENT', `no headset ${wanted} on this PC (${known.length > 0 ? `headsets: ${known.join(', ')}` : 'no headset is reachable: none on USB and none configured'})`);
    }
    if (found.state === 'unauthorized') throw new AvcareError('ACTION_UNAVAILABLE', `${wanted} has not allowed this PC to use ADB: someone must put it on and tap Allow (VR_ADB_NOT_AUTHORIZED)`);
    if (found.state !== 'connected' || !found.adb) throw new AvcareError('ACTION_UNAVAILABLE', `${wanted} does not answer over ADB${found.problem ? `: ${found.problem}` : ''}`);
    return await work(found, adbShell(found.adb));
  } finally {
    await closeHeadsetLinks(links);
  }
}

function configuredApp(access: HeadsetAccess, app: string): string {
  if (!access.config.vr.apps.includes(app)) {
    const apps = access.config.vr.apps;
    throw new AvcareError('INVALID_ARGUMENT', `${app} is not one of this room's VR apps (${apps.length > 0 ? apps.join(', ') : 'none configured: vr.apps'}); only those may be restarted or read`);
  }
  return app;
}

export async function vrStatus(access: HeadsetAccess, headset: string, signal: AbortSignal): Promise<{ device: Device }> {
  return withHeadset(access, headset, signal, async (link) => ({ device: await deviceOf(link, { config: access.config, signal }) }));
}

export interface AppRestart {
  headset: string;
  app: string;
  wasRunning: boolean;
  running: boolean;
  /** What the launcher said, for the engineer (one line is enough to see "No activities found"). */
  launch: string;
}

/** Stops the app and starts it from its launcher entry, then checks it runs. */
export async function vrAppRestart(access: HeadsetAccess, headset: string, app: string, signal: AbortSignal): Promise<AppRestart> {
  const packageName = configuredApp(access, app);
  return withHeadset(access, headset, signal, async (link, shell) => {
    const run = (command: string): Promise<string> => shell.run(command, { maxBytes: 16 * 1024, timeoutMs: COMMAND_TIMEOUT_MS, signal });
    const wasRunning = readRunning(await run(`pidof ${packageName}`));
    await run(`am force-stop ${packageName}`);
    const launch = await run(`monkey -p ${packageName} -c android.intent.category.LAUNCHER 1`);
    const deadline = Date.now() + (access.startWaitMs ?? 5000);
    let running = false;
    while (!running && Date.now() < deadline) {
      running = readRunning(await run(`pidof ${packageName}`));
      if (!running) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const said = launch.split('\n').map((line) => line.trim()).filter(Boolean);
    return { headset: link.name ?? link.serial, app: packageName, wasRunning, running, launch: (said.find((line) => /No activities|Events injected|Error/i.test(line)) ?? said.at(-1) ?? '').slice(0, 200) };
  });
}

/** The app's last crash and "not responding" records from the system's dropbox, newest last, bounded. */
export async function vrCrashLog(access: HeadsetAccess, headset: string, app: string, entries: number, signal: AbortSignal): Promise<{ headset: string; app: string; records: ReturnType<typeof crashExcerpts> }> {
  const packageName = configuredApp(access, app);
  return withHeadset(access, headset, signal, async (link, shell) => {
    const read = (tag: string): Promise<string> => shell.run(`dumpsys dropbox --print ${tag}`, { maxBytes: 512 * 1024, keep: 'tail', timeoutMs: COMMAND_TIMEOUT_MS * 2, signal });
    const text = `${await read('data_app_crash')}\n${await read('data_app_anr')}`;
    const records = crashExcerpts(text, packageName, 20).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(-entries);
    return { headset: link.name ?? link.serial, app: packageName, records };
  });
}
