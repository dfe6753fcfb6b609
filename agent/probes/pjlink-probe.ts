/**
 * The pjlink probe: asks every configured projector or display over PJLink, in parallel, and
 * turns each answer (or failure) into one Device.
 */
import { AvcareError, isAvcareError, type Device, type DeviceError, type DeviceStatus, type PjlinkInfo } from '../../protocol/index.js';
import type { PjlinkTargetConfig } from '../config.js';
import type { Logger } from '../../protocol/log.js';
import { PJLINK_CLIENT_DEFAULTS, queryPjlink } from './pjlink-client.js';
import type { Probe } from './probe.js';

export interface PjlinkProbeOptions {
  /** Replaceable so the probe's mapping can be tested without a device; defaults to the TCP client. */
  query?: typeof queryPjlink;
}

/**
 * Each target must finish a little before the runner aborts the whole probe, so that one slow
 * projector is reported as not answering while the others are still reported.
 */
const TARGET_MARGIN_MS = 500;
const MIN_TARGET_BUDGET_MS = 1000;
const DEADLINE_MARGIN_MS = 250;

export function createPjlinkProbe(options: PjlinkProbeOptions = {}): Probe {
  const query = options.query ?? queryPjlink;
  return {
    id: 'pjlink',
    async run(context, signal) {
      const budgetMs = Math.max(MIN_TARGET_BUDGET_MS, context.config.probeTimeoutSeconds * 1000 - TARGET_MARGIN_MS);
      const log = context.log.child({ probe: 'pjlink' });
      const devices = await Promise.all(context.config.pjlink.map((target) => probeTarget(target, { query, budgetMs, signal, log })));
      return { state: 'ok', devices };
    },
  };
}

interface TargetRun {
  query: typeof queryPjlink;
  budgetMs: number;
  signal: AbortSignal;
  log: Logger;
}

async function probeTarget(target: PjlinkTargetConfig, run: TargetRun): Promise<Device> {
  const where = `${target.host}:${target.port}`;
  const budget = new AbortController();
  const timer = setTimeout(
    () => budget.abort(new AvcareError('PJLINK_TIMEOUT', `${where} did not finish answering within ${run.budgetMs} ms`, { host: target.host, port: target.port })),
    run.budgetMs,
  );
  // Only host and port are logged: the target object holds the password.
  const log = run.log.child({ target: where });
  try {
    const info = await run.query(
      target.password === undefined ? { host: target.host, port: target.port } : { host: target.host, port: target.port, password: target.password },
      // The deadline comes a little before the abort: the client then reports what the device did answer.
      { ...PJLINK_CLIENT_DEFAULTS, deadline: Date.now() + run.budgetMs - DEADLINE_MARGIN_MS, signal: AbortSignal.any([run.signal, budget.signal]), log },
    );
    return answeredDevice(target, info);
  } catch (error) {
    const deviceError = toDeviceError(error);
    log.debug({ code: deviceError.code, reason: deviceError.message }, 'PJLink target not readable');
    return unreachableDevice(target, deviceError);
  } finally {
    clearTimeout(timer);
  }
}

function answeredDevice(target: PjlinkTargetConfig, info: PjlinkInfo): Device {
  const device: Device = {
    ...baseDevice(target, info.name),
    status: statusFromErrors(info.errors),
    pjlink: info,
  };
  if (info.manufacturer !== undefined) device.make = info.manufacturer;
  if (info.product !== undefined) device.model = info.product;
  if (info.serialNumber !== undefined) device.serialNumber = info.serialNumber;
  return device;
}

function unreachableDevice(target: PjlinkTargetConfig, error: DeviceError): Device {
  return { ...baseDevice(target, undefined), status: 'unreachable', error };
}

function baseDevice(target: PjlinkTargetConfig, deviceName: string | undefined): Pick<Device, 'id' | 'kind' | 'name' | 'connection'> {
  return {
    id: `pjlink:${target.host}:${target.port}`,
    kind: 'projector',
    name: target.name ?? deviceName ?? `Projector at ${target.host}`,
    connection: { type: 'network', host: target.host, port: target.port, protocol: 'pjlink' },
  };
}

export function statusFromErrors(errors: PjlinkInfo['errors']): DeviceStatus {
  const levels = Object.values(errors);
  if (levels.includes('error')) return 'faulty';
  if (levels.includes('warning')) return 'degraded';
  return 'ok';
}

/** Any failure becomes an error on the device, so one bad target never hides the others. */
function toDeviceError(error: unknown): DeviceError {
  if (!isAvcareError(error)) {
    return { code: 'PROBE_FAILED', message: error instanceof Error ? error.message : String(error) };
  }
  const deviceError: DeviceError = { code: error.code, message: error.message };
  const rawHex = error.context.rawHex;
  if (typeof rawHex === 'string' && /^[0-9a-f]*$/.test(rawHex)) deviceError.raw = rawHex;
  return deviceError;
}
