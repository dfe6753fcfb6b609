/**
 * The visca-ip probe: PTZ cameras controlled over the network. Same inquiries, same device and
 * faults as a camera on a serial port; only the transport differs (visca-ip-link.ts), and
 * "auto" first finds which framing the camera speaks (visca-ip-detect.ts).
 */
import { AvcareError, type Device, type ViscaInfo } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import type { ViscaIpTargetConfig } from '../config.js';
import type { Probe } from './probe.js';
import { DEFAULT_INQUIRY_TIMEOUT_MS, ViscaClient, queryCamera } from './visca-client.js';
import { cleanText, withAnswer, withFailure } from './visca-device.js';
import { DEFAULT_PORT, SONY_VISCA_IP_PORT, describeAttempts, detectFraming, type Detection, type FramingAttempt } from './visca-ip-detect.js';
import { openViscaIpLink, where, type ViscaIpEndpoint, type ViscaIpLink } from './visca-ip-link.js';

export interface ViscaIpProbeOptions {
  open?: typeof openViscaIpLink;
  inquiryTimeoutMs?: number;
  /** Per framing tried by "auto". */
  attemptTimeoutMs?: number;
}

/** Each camera must finish a little before the runner aborts the whole probe, so the others are still reported. */
const TARGET_MARGIN_MS = 500;
const MIN_TARGET_BUDGET_MS = 1000;

export function createViscaIpProbe(options: ViscaIpProbeOptions = {}): Probe {
  const deps = {
    open: options.open ?? openViscaIpLink,
    inquiryTimeoutMs: options.inquiryTimeoutMs ?? DEFAULT_INQUIRY_TIMEOUT_MS,
    ...(options.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: options.attemptTimeoutMs }),
    // What "auto" found, kept across cycles: the camera is not searched for every minute.
    found: new Map<string, ViscaIpEndpoint>(),
  };
  return {
    id: 'visca-ip',
    async run(context, signal) {
      const log = context.log.child({ probe: 'visca-ip' });
      const budgetMs = Math.max(MIN_TARGET_BUDGET_MS, context.config.probeTimeoutSeconds * 1000 - TARGET_MARGIN_MS);
      const devices = await Promise.all(context.config.viscaIp.map((target) => probeTarget(target, { ...deps, budgetMs, signal, log })));
      return { state: 'ok', devices };
    },
  };
}

interface TargetRun {
  open: typeof openViscaIpLink;
  inquiryTimeoutMs: number;
  attemptTimeoutMs?: number;
  found: Map<string, ViscaIpEndpoint>;
  budgetMs: number;
  signal: AbortSignal;
  log: Logger;
}

async function probeTarget(target: ViscaIpTargetConfig, run: TargetRun): Promise<Device> {
  const key = `${target.host}:${target.port ?? ''}:${target.address}`;
  const budget = new AbortController();
  const timer = setTimeout(
    () => budget.abort(new AvcareError('VISCA_TIMEOUT', `${target.host} did not finish answering within ${run.budgetMs} ms`, { host: target.host, raw: '' })),
    run.budgetMs,
  );
  const signal = AbortSignal.any([run.signal, budget.signal]);
  const log = run.log.child({ target: target.host });
  try {
    let endpoint = pinnedEndpoint(target) ?? run.found.get(key);
    let detection: Detection | undefined;
    if (endpoint === undefined) {
      detection = await detectFraming(target.host, target.port, target.address, {
        open: run.open,
        signal,
        log,
        ...(run.attemptTimeoutMs === undefined ? {} : { attemptTimeoutMs: run.attemptTimeoutMs }),
      });
      if (detection.found === undefined) return notFound(target, detection.attempts);
      endpoint = detection.found;
      run.found.set(key, endpoint);
      log.info({ framing: endpoint.framing, port: endpoint.port }, `VISCA camera at ${target.host} answers ${endpoint.framing} on port ${endpoint.port}`);
    }
    const device = await queryEndpoint(target, endpoint, run, signal, log);
    if (target.framing === 'auto') {
      if (device.status === 'unreachable') run.found.delete(key); // perhaps another camera now: search again next cycle
      if (device.visca) {
        device.visca.framingDetected = true;
        if (detection) device.visca.framingAttempts = detection.attempts;
      }
    }
    return device;
  } finally {
    clearTimeout(timer);
  }
}

function pinnedEndpoint(target: ViscaIpTargetConfig): ViscaIpEndpoint | undefined {
  if (target.framing === 'auto') return undefined;
  return { host: target.host, port: target.port ?? DEFAULT_PORT[target.framing], framing: target.framing };
}

async function queryEndpoint(target: ViscaIpTargetConfig, endpoint: ViscaIpEndpoint, run: TargetRun, signal: AbortSignal, log: Logger): Promise<Device> {
  const device = cameraDevice(target, endpoint);
  let link: ViscaIpLink | undefined;
  try {
    link = await run.open(endpoint, { signal, log });
    const client = new ViscaClient(link, { log });
    try {
      const info = await queryCamera(client, target.address, { timeoutMs: run.inquiryTimeoutMs, signal });
      const { retransmitted } = link.stats();
      return withAnswer(device, retransmitted > 0 ? { ...info, retransmitted } : info);
    } finally {
      client.detach();
    }
  } catch (error) {
    log.debug({ endpoint: where(endpoint), err: error }, 'VISCA camera did not answer properly');
    return withFailure(device, error);
  } finally {
    await link?.close();
  }
}

/** No framing answered: the most telling outcome decides the error, and every attempt is kept as evidence. */
function notFound(target: ViscaIpTargetConfig, attempts: FramingAttempt[]): Device {
  const port = target.port ?? SONY_VISCA_IP_PORT;
  const device = cameraDevice(target, { host: target.host, port, framing: 'sony-ip' });
  // No framing is claimed: none was found.
  if (device.connection.type === 'network') delete device.connection.framing;
  const code = attempts.some((attempt) => attempt.outcome === 'garbled')
    ? 'VISCA_GARBLED'
    : attempts.every((attempt) => attempt.outcome === 'refused')
      ? 'VISCA_CONNECT_FAILED'
      : 'VISCA_TIMEOUT';
  const failed = withFailure(device, new AvcareError(code, `no VISCA framing answered (${describeAttempts(attempts)})`, { raw: '' }));
  return { ...failed, visca: { ...(failed.visca ?? { address: target.address, power: 'unknown' }), framingAttempts: attempts } };
}

function cameraDevice(target: ViscaIpTargetConfig, endpoint: ViscaIpEndpoint): Device {
  const visca: ViscaInfo = { address: target.address, power: 'unknown' };
  return {
    id: `visca-ip:${target.host}:${target.address}`.slice(0, 256),
    kind: 'camera',
    name: cleanText(target.name ?? `VISCA camera at ${target.host}`),
    connection: { type: 'network', host: target.host, port: endpoint.port, protocol: 'visca', framing: endpoint.framing },
    status: 'unknown',
    visca,
  };
}
