import { blockingScope } from '../platform/windows/privacy-settings.js';
import type { MediaPrivacy } from '../../protocol/index.js';
import type { FaultCondition } from './fault-condition.js';
import { condition, deviceEvidence, type FaultRule } from './fault-rule-kit.js';

/** What each Device Manager problem code means (Microsoft's "Device Manager error codes"), for the evidence. */
const PROBLEM_MEANINGS: Readonly<Record<number, string>> = {
  1: 'not configured correctly',
  3: 'the driver is corrupted, or the system is low on memory',
  10: 'the device cannot start',
  12: 'not enough free resources',
  14: 'needs the PC restarted',
  18: 'its drivers need reinstalling',
  19: 'its registry entry is damaged',
  22: 'disabled',
  24: 'not present, not working, or its drivers are missing',
  28: 'its drivers are not installed',
  29: 'disabled by the firmware',
  31: 'Windows cannot load the drivers it needs',
  32: 'its driver service is disabled',
  37: 'its driver failed to initialise',
  39: 'its driver is corrupted or missing',
  43: 'stopped after it reported problems',
  48: 'its driver is blocked',
  52: 'its driver is not signed',
};

/** Codes that say the driver is missing or broken (reinstalling it is the cure), as against a device that would not start. */
const DRIVER_CODES: ReadonlySet<number> = new Set([1, 3, 18, 24, 28, 31, 32, 37, 39, 48, 52]);

/** Windows' own verdict on a device, from the Device Manager's problem code. */
export const windowsDeviceProblems: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    const code = device.pnp?.problemCode;
    if (code === undefined || code === null || code === 0 || code === 45) continue;
    const evidence = { device: deviceEvidence(device), pnp: device.pnp, meaning: PROBLEM_MEANINGS[code] ?? 'see the Device Manager error codes' };
    if (code === 22 || code === 29) faults.push(condition('WINDOWS_DEVICE_DISABLED', device, 'media', evidence, 'faults.WINDOWS_DEVICE_DISABLED', { device: device.name }));
    else if (DRIVER_CODES.has(code)) faults.push(condition('WINDOWS_DRIVER_MISSING', device, 'media', evidence, 'faults.WINDOWS_DRIVER_MISSING', { device: device.name, code }));
    else faults.push(condition('WINDOWS_DEVICE_NOT_STARTED', device, 'media', evidence, 'faults.WINDOWS_DEVICE_NOT_STARTED', { device: device.name, code }));
  }
  return faults;
};

/**
 * Windows' privacy switches that keep every program from the camera or the microphone: the device
 * works, Device Manager is happy, and the class's meeting app still sees nothing. The broadest
 * switch that says deny is the one to change.
 */
export const windowsPrivacyBlocks: FaultRule = (snapshot, { config }) => {
  const privacy = snapshot.privacy;
  if (!privacy) return [];
  const faults: FaultCondition[] = [];
  const camera = blockingScope(privacy.camera);
  if (camera) faults.push(condition('CAMERA_BLOCKED_BY_PRIVACY', null, 'media', { privacy: privacy.camera, blockedBy: camera }, `faults.CAMERA_BLOCKED_BY_PRIVACY.${camera}`));
  const microphone = blockingScope(privacy.microphone);
  if (microphone) faults.push(condition('MICROPHONE_BLOCKED_BY_PRIVACY', null, 'media', { privacy: privacy.microphone, blockedBy: microphone }, `faults.MICROPHONE_BLOCKED_BY_PRIVACY.${microphone}`));
  // macOS asks per program: a class program someone answered "Don't Allow" for.
  const classApps = new Set([...CLASS_APPS, ...config.classApps].map((app) => app.toLowerCase()));
  const refused = (settings: MediaPrivacy['camera']): string[] => (settings.deniedApps ?? []).filter((app) => classApps.has(app.toLowerCase()));
  const cameraApps = camera ? [] : refused(privacy.camera);
  if (cameraApps.length > 0) faults.push(condition('CAMERA_BLOCKED_BY_PRIVACY', null, 'media', { privacy: privacy.camera, blockedBy: 'app', apps: cameraApps }, 'faults.CAMERA_BLOCKED_BY_PRIVACY.app', { apps: cameraApps.join(', ') }));
  const microphoneApps = microphone ? [] : refused(privacy.microphone);
  if (microphoneApps.length > 0) faults.push(condition('MICROPHONE_BLOCKED_BY_PRIVACY', null, 'media', { privacy: privacy.microphone, blockedBy: 'app', apps: microphoneApps }, 'faults.MICROPHONE_BLOCKED_BY_PRIVACY.app', { apps: microphoneApps.join(', ') }));
  return faults;
};

/**
 * Meeting and teaching programs on Macs in Chinese schools, by bundle id: one refused the camera or
 * microphone is a class that cannot be seen or heard. A school adds its own in `classApps`.
 */
const CLASS_APPS: readonly string[] = [
  'com.tencent.meeting', // 腾讯会议
  'com.tencent.xinWeChat', // 微信
  'com.alibaba.DingTalkMac', // 钉钉
  'com.bytedance.macos.feishu', // 飞书
  'us.zoom.xos',
  'com.microsoft.teams2',
  'com.microsoft.teams',
  'Cisco-Systems.Spark', // Webex
  'com.google.Chrome', // classes in the browser
  'com.microsoft.edgemac',
  'com.obsproject.obs-studio',
];

/**
 * A program that has held the camera for longer than a lesson: a meeting app left running, a
 * recorder that hung. Windows gives a camera to one program at a time, so the class's app is
 * refused it. Programs meant to hold it all day are configured and left alone.
 */
export const windowsCameraHeld: FaultRule = (snapshot, { config }) => {
  const holders = snapshot.privacy?.camera.inUseBy ?? [];
  const expected = new Set(config.cameraHoldersExpected.map((app) => app.toLowerCase()));
  const limitMs = config.thresholds.cameraHeldMinutes * 60_000;
  const held = holders.filter((holder) => !expected.has(holder.app.toLowerCase()) && snapshot.at.getTime() - Date.parse(holder.since) >= limitMs);
  const longest = held.sort((a, b) => Date.parse(a.since) - Date.parse(b.since))[0];
  if (!longest) return [];
  const since = longest.since.slice(0, 16).replace('T', ' ');
  return [condition('CAMERA_HELD_BY_APP', null, 'media', { inUseBy: holders, heldMinutes: config.thresholds.cameraHeldMinutes }, 'faults.CAMERA_HELD_BY_APP', { app: longest.app, since })];
};

/**
 * The default recording device muted, or its level at zero, in Windows' sound settings: the
 * microphone works and the class is still not heard. The endpoint is named by its Plug and Play
 * device (SWD\MMDEVAPI\<endpoint id>) when the cycle listed it.
 */
export const windowsRecordingSilenced: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const endpoint of snapshot.recording ?? []) {
    const pnpId = `SWD\\MMDEVAPI\\${endpoint.endpointId}`.toUpperCase();
    const device = snapshot.devices.find((candidate) => candidate.pnp?.instanceId.toUpperCase() === pnpId) ?? null;
    const evidence = { recording: endpoint, ...(device ? { device: deviceEvidence(device) } : {}) };
    const name = device?.name ?? endpoint.endpointId;
    if (endpoint.muted) faults.push(condition('MICROPHONE_MUTED', device, 'media', evidence, 'faults.MICROPHONE_MUTED', { device: name }));
    else if (endpoint.levelPercent === 0) faults.push(condition('MICROPHONE_LEVEL_ZERO', device, 'media', evidence, 'faults.MICROPHONE_LEVEL_ZERO', { device: name }));
  }
  return faults;
};
