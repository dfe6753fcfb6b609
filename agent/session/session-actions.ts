/**
 * What each allowlisted action does on this PC. Each one uses what the agent already has (its
 * probe cycle, its tests, its recent log with secrets removed); none runs a shell or reads a file
 * outside the agent's own state. What this PC lacks (a camera, a USB bus) is ACTION_UNAVAILABLE with the reason.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AvcareError } from '../../protocol/errors.js';
import type { Device, SystemSnapshot } from '../../protocol/index.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { SessionAction } from '../../protocol/remote-session.js';
import type { InventorySnapshot } from '../../protocol/session-results.js';
import { parseAgentConfig } from '../config.js';
import type { TestOutcome } from '../measure/test-runner.js';
import { scrubSecrets } from '../scrub-secrets.js';
import type { ActionRunner } from './session-service.js';
import { MAX_RESULT_BYTES } from '../../protocol/remote-session.js';
import type { AgentConfig } from '../config.js';
import type { DaemonState } from '../daemon-state.js';
import { LibusbResetter, type UsbResetter } from '../remediation/usb-reset.js';
import { buildReportBundle, fitBundle } from '../report-bundle.js';
import { configuredCamera, powerCycleCamera, type PowerCycleTimings } from './camera-power-cycle.js';
import { clipInput, recordClip, snapshotInput, takeSnapshot, type CaptureSources } from './privacy-capture.js';
import type { HeadsetAccess } from '../vr/headset-actions.js';

export interface ActionHooks {
  /** A probe cycle now: its devices and each source's state. */
  reprobe(): Promise<InventorySnapshot>;
  /** The last cycle's, without probing; undefined before the first one ends. */
  inventory(): InventorySnapshot | undefined;
  health(): Promise<SystemSnapshot | undefined>;
  recentLog(lines: number): string[];
  runTest(test: MeasureTest): Promise<TestOutcome>;
  /** Ends the process after the answer has gone out; the service manager starts it again. */
  restart(): void;
  /** The config file the agent was started with; set-config writes there. */
  configFile: string | undefined;
  /** Values that must never leave the PC (broker password, PJLink passwords). */
  secrets: readonly string[];
  /** The cameras the agent is configured to speak VISCA to (the only ones a power cycle may touch), and the room's camera and microphone. */
  cameras: Pick<AgentConfig, 'serialPorts' | 'viscaIp'> & { measure?: { room: { camera?: string | undefined; microphone?: string | undefined } } };
  /** For tests: ffmpeg sources instead of the room's devices. */
  captureSources?: CaptureSources;
  /** The daemon's shared state (health history, open faults) for the diagnostic bundle. */
  daemonState(): DaemonState | undefined;
  /** Resets a USB device; libusb's unless a test gives another. */
  usbResetter?: UsbResetter;
  powerCycle?: PowerCycleTimings;
  /** The room's headsets and apps; absent where the agent has none configured and looks for none. */
  headsets?: HeadsetAccess;
}

/** The bundle must fit in one answer, with room for the answer's own fields. */
const BUNDLE_MAX_BYTES = MAX_RESULT_BYTES - 2048;

export function sessionActions(hooks: ActionHooks): ActionRunner {
  return async (action: SessionAction, args: Record<string, unknown>, signal: AbortSignal): Promise<unknown> => {
    switch (action) {
      case 'reprobe':
        return hooks.reprobe();
      case 'inventory':
        return hooks.inventory() ?? { devices: null, sources: null, reason: 'the agent has not finished its first probe cycle yet; try reprobe' };
      case 'health-snapshot':
        return { system: (await hooks.health()) ?? null };
      case 'fetch-logs':
        return { lines: hooks.recentLog(Number(args['lines'] ?? 200)).map((line) => scrubSecrets(line, hooks.secrets)) };
      case 'network-test':
        return hooks.runTest('network');
      case 'avsync-test':
        return hooks.runTest('avsync');
      case 'restart-agent':
        // Answered first; the restart follows a moment later.
        setTimeout(() => hooks.restart(), 1000).unref();
        return { restarting: true };
      case 'set-config':
        return setConfigKey(hooks.configFile, String(args['key']), args['value'] as string | number | boolean);
      case 'visca-power-cycle':
        return powerCycleCamera(configuredCamera(hooks.cameras, String(args['camera'])), signal, hooks.powerCycle);
      case 'usb-reset':
        return resetUsbPort(hooks, String(args['port']), signal);
      case 'diagnostic-bundle':
        return diagnosticBundle(hooks);
      case 'camera-snapshot':
        return takeSnapshot(await snapshotInput(args['camera'] as string | undefined, captureSources(hooks), signal), signal);
      case 'audio-clip':
        return recordClip(await clipInput(captureSources(hooks), signal), Number(args['seconds'] ?? 5), signal);
      // The ADB library is loaded only when a headset action runs.
      case 'vr-status':
        return import('../vr/headset-actions.js').then(({ vrStatus }) => vrStatus(headsetAccess(hooks), String(args['headset']), signal));
      case 'vr-app-restart':
        return import('../vr/headset-actions.js').then(({ vrAppRestart }) => vrAppRestart(headsetAccess(hooks), String(args['headset']), String(args['app']), signal));
      case 'vr-crash-log':
        return import('../vr/headset-actions.js').then(({ vrCrashLog }) => vrCrashLog(headsetAccess(hooks), String(args['headset']), String(args['app']), Number(args['entries'] ?? 5), signal));
    }
  };
}

/**
 * Sets one key of the agent's config file, checked against the agent's own schema first, so a bad
 * value is refused with the reason and the file stays as it was. It takes effect at the next start.
 */
export function setConfigKey(file: string | undefined, key: string, value: string | number | boolean): { key: string; value: unknown; file: string; appliesAt: 'next-start' } {
  if (file === undefined) throw new AvcareError('CONFIG_UNREADABLE', 'this agent runs without a config file: there is nothing to set');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AvcareError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
  }
  const next = structuredClone(current);
  const path = key.split('.');
  let at: Record<string, unknown> = next;
  for (const part of path.slice(0, -1)) {
    const inner = at[part];
    at = (at[part] = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? inner : {}) as Record<string, unknown>;
  }
  at[path.at(-1) ?? key] = value;
  parseAgentConfig(next, `${file} with ${key} set`);
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o640 });
    renameSync(`${file}.tmp`, file);
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot write ${file}: ${(error as Error).message}`);
  }
  return { key, value, file, appliesAt: 'next-start' };
}

/**
 * Resets the USB device on one port, as unplugging it would: only a device the agent sees in its
 * inventory (the engineer names the port, the agent finds what is there and checks it is still
 * the same device before the reset).
 */
async function resetUsbPort(hooks: ActionHooks, port: string, signal: AbortSignal): Promise<{ port: string; device: string; reset: boolean; result: string; devicesAfter: number }> {
  const { devices, sources } = await hooks.reprobe();
  const portOf = (candidate: Device): string | undefined => (candidate.connection?.type === 'usb' ? candidate.connection.portPath : undefined);
  const device = devices.find((candidate) => portOf(candidate) === port);
  if (!device?.usb) {
    const usb = sources.find((source) => source.source === 'usb');
    if (usb && usb.state !== 'ok') throw new AvcareError('ACTION_UNAVAILABLE', `USB is ${usb.state} on this PC${usb.reason ? `: ${usb.reason}` : ''}`);
    const ports = devices.flatMap((candidate) => portOf(candidate) ?? []);
    throw new AvcareError('INVALID_ARGUMENT', `no USB device on port ${port} (${ports.length > 0 ? `devices are on ${ports.join(', ')}` : 'this PC shows no USB devices'})`);
  }
  const { busNumber, deviceAddress, vendorId, productId } = device.usb;
  const outcome = await (hooks.usbResetter ?? new LibusbResetter()).reset({ busNumber, deviceAddress, vendorId, productId, port }, signal);
  if (!outcome.reset) throw new AvcareError('ACTION_UNAVAILABLE', outcome.result);
  // The device re-enumerates: the next probe shows whether it came back.
  return { port, device: device.id, reset: true, result: outcome.result, devicesAfter: (await hooks.reprobe()).devices.length };
}

/** What `avcare-agent report` would attach, now: inventory, system, health history, open faults, the recent log, secrets removed, fitted to one answer. */
async function diagnosticBundle(hooks: ActionHooks): Promise<unknown> {
  const { at, devices, sources } = await hooks.reprobe();
  const system = await hooks.health();
  const bundle = buildReportBundle({
    cycle: { at: new Date(at), devices, sources, ...(system ? { system } : {}) },
    detected: [],
    daemon: hooks.daemonState(),
    daemonRunning: true,
    logLines: hooks.recentLog(500),
    knownSecrets: hooks.secrets,
  });
  return fitBundle(bundle, BUNDLE_MAX_BYTES);
}

function captureSources(hooks: ActionHooks): CaptureSources {
  return hooks.captureSources ?? { camera: hooks.cameras.measure?.room.camera, microphone: hooks.cameras.measure?.room.microphone };
}

function headsetAccess(hooks: ActionHooks): HeadsetAccess {
  if (!hooks.headsets) throw new AvcareError('ACTION_UNAVAILABLE', 'this agent has no VR headsets to reach (vrHeadsets and vr.usb in its configuration)');
  return hooks.headsets;
}
