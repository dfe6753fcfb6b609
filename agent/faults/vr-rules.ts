import type { Device, VrInfo } from '../../protocol/index.js';
import type { FaultCondition } from './fault-condition.js';
import { controllerKey } from './controller-links.js';
import { condition, deviceEvidence, type FaultRule } from './fault-rule-kit.js';
import { unstableConnections } from './unstable-connection.js';

const HOT_STATES: ReadonlySet<NonNullable<VrInfo['thermal']>['status']> = new Set(['severe', 'critical', 'emergency', 'shutdown']);
const GB = 1024 ** 3;

/**
 * What a standalone headset shows about itself, as faults: not authorized (nothing else can be
 * read then), battery, controllers, the class's apps, storage and heat. Controller and app faults
 * are keyed on the headset plus the controller's side or the app, so each is raised and cleared
 * on its own.
 */
export const vrHeadsetFaults: FaultRule = (snapshot, { config }) => {
  const faults: FaultCondition[] = [];
  const { thresholds } = config;
  for (const device of snapshot.devices) {
    const vr = device.vr;
    if (device.kind !== 'vr-headset' || !vr) continue;
    const evidence = (extra: Record<string, unknown>): Record<string, unknown> => ({ device: deviceEvidence(device), ...extra });
    if (!vr.authorized) {
      faults.push(condition('VR_ADB_NOT_AUTHORIZED', device, 'adb', evidence({}), 'faults.VR_ADB_NOT_AUTHORIZED', { device: device.name }));
      continue;
    }
    const battery = vr.battery;
    if (battery && battery.level <= thresholds.vrBatteryLowPercent) {
      const key = battery.charging === 'charging' || battery.charging === 'full' ? 'faults.VR_BATTERY_LOW.charging' : 'faults.VR_BATTERY_LOW.notCharging';
      faults.push(condition('VR_BATTERY_LOW', device, 'adb', evidence({ battery, threshold: thresholds.vrBatteryLowPercent }), key, { device: device.name, level: battery.level }));
    }
    const hot = overheating(vr, thresholds.vrOverheatC);
    if (hot) faults.push(condition('VR_OVERHEATING', device, 'adb', evidence({ battery: vr.battery ?? null, thermal: vr.thermal ?? null }), 'faults.VR_OVERHEATING', { device: device.name, reason: hot }));
    if (vr.storage && vr.storage.freeBytes < thresholds.vrStorageLowGb * GB) {
      const free = (vr.storage.freeBytes / GB).toFixed(1);
      faults.push(condition('VR_STORAGE_LOW', device, 'adb', evidence({ storage: vr.storage }), 'faults.VR_STORAGE_LOW', { device: device.name, free, percent: vr.storage.usePercent }));
    }
    for (const controller of vr.controllers) faults.push(...controllerFaults(device, controller, thresholds.vrControllerBatteryLowPercent));
    for (const app of vr.apps) faults.push(...appFaults(device, app));
  }
  return faults;
};

function overheating(vr: VrInfo, limitC: number): string | null {
  if (vr.thermal && HOT_STATES.has(vr.thermal.status)) return `thermal status ${vr.thermal.status}${vr.thermal.hottestC !== undefined ? ` (${vr.thermal.hottestSensor ?? 'sensor'} ${vr.thermal.hottestC} °C)` : ''}`;
  if (vr.battery?.health === 'overheat') return 'the battery reports overheat';
  if (vr.battery?.temperatureC !== undefined && vr.battery.temperatureC >= limitC) return `battery at ${vr.battery.temperatureC} °C`;
  return null;
}

function controllerFaults(device: Device, controller: VrInfo['controllers'][number], lowPercent: number): FaultCondition[] {
  const id = controllerKey(device.id, controller.side);
  const evidence = { device: deviceEvidence(device), controller };
  if (controller.connected === false) {
    return [{ ...condition('VR_CONTROLLER_DISCONNECTED', device, 'adb', evidence, 'faults.VR_CONTROLLER_DISCONNECTED', { device: device.name, controller: controller.name }), deviceId: id }];
  }
  if (controller.batteryPercent !== undefined && controller.batteryPercent <= lowPercent) {
    return [{ ...condition('VR_CONTROLLER_BATTERY_LOW', device, 'adb', evidence, 'faults.VR_CONTROLLER_BATTERY_LOW', { device: device.name, controller: controller.name, level: controller.batteryPercent }), deviceId: id }];
  }
  return [];
}

function appFaults(device: Device, app: VrInfo['apps'][number]): FaultCondition[] {
  const id = `${device.id}/app:${app.packageName}`;
  if (!app.installed) return [{ ...condition('VR_APP_MISSING', device, 'adb', { device: deviceEvidence(device), app: app.packageName }, 'faults.VR_APP_MISSING', { device: device.name, app: app.packageName }), deviceId: id }];
  const latest = app.crashes.at(-1);
  if (!latest) return [];
  const key = latest.kind === 'anr' ? 'faults.VR_APP_CRASHED.anr' : 'faults.VR_APP_CRASHED.crash';
  const evidence = { device: deviceEvidence(device), app: app.packageName, versionName: app.versionName ?? null, crashes: app.crashes };
  return [{ ...condition('VR_APP_CRASHED', device, 'adb', evidence, key, { device: device.name, app: app.packageName, at: latest.at, detail: latest.detail }), deviceId: id }];
}

/**
 * A class set runs one version of each app: a headset whose version differs from what most of the
 * set has (a strict majority, so a split set raises nothing it cannot justify) is out of step.
 */
export const vrAppVersionMismatch: FaultRule = (snapshot) => {
  const headsets = snapshot.devices.filter((device) => device.kind === 'vr-headset' && device.vr?.authorized);
  const faults: FaultCondition[] = [];
  const packages = new Set(headsets.flatMap((device) => device.vr?.apps.map((app) => app.packageName) ?? []));
  for (const packageName of packages) {
    const versions = headsets.flatMap((device) => {
      const app = device.vr?.apps.find((candidate) => candidate.packageName === packageName);
      return app?.installed && app.versionName ? [{ device, version: app.versionName }] : [];
    });
    const counts = new Map<string, number>();
    for (const { version } of versions) counts.set(version, (counts.get(version) ?? 0) + 1);
    const [expected, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    if (count * 2 <= versions.length) continue;
    for (const { device, version } of versions) {
      if (version === expected) continue;
      const evidence = { device: deviceEvidence(device), app: packageName, version, expected, classSet: Object.fromEntries(counts) };
      faults.push({ ...condition('VR_APP_VERSION_MISMATCH', device, 'adb', evidence, 'faults.VR_APP_VERSION_MISMATCH', { device: device.name, app: packageName, version, expected }), deviceId: `${device.id}/app:${packageName}:version` });
    }
  }
  return faults;
};

/**
 * A controller whose link keeps dropping and coming back (a weak battery, the cart's metal, a busy
 * 2.4 GHz band): counted over the same window as a USB port's disconnects, with the times.
 */
export const vrControllerUnstable: FaultRule = (snapshot, { config, controllerEvents }) => {
  if (!controllerEvents || controllerEvents.length === 0) return [];
  const found = unstableConnections(controllerEvents, snapshot.at.getTime(), { threshold: config.thresholds.unstableDisconnects, windowMs: config.thresholds.unstableWindowMinutes * 60_000 });
  return found.flatMap((unstable) => {
    const device = snapshot.devices.find((candidate) => unstable.port.startsWith(`${candidate.id}/controller-`));
    if (!device) return [];
    const controller = unstable.label ?? 'controller';
    const evidence = { device: deviceEvidence(device), controller, disconnects: unstable.disconnects, windowMinutes: unstable.windowMinutes, disconnectedAt: unstable.disconnectedAt, connectedNow: unstable.presentNow };
    const fault = condition('VR_CONTROLLER_UNSTABLE', device, 'adb', evidence, 'faults.VR_CONTROLLER_UNSTABLE', { device: device.name, controller, count: unstable.disconnects, minutes: unstable.windowMinutes });
    return [{ ...fault, deviceId: `${unstable.port}:link` }];
  });
};
