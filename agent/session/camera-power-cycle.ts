/**
 * The remote session's "power-cycle a camera": VISCA standby, a pause, power on, then the power
 * inquiry until the camera says it is on. Only a camera the agent is configured to speak to (a
 * serial port with protocol visca, or a VISCA-over-IP target) can be named: the engineer cannot
 * make the agent write to any other device.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AvcareError } from '../../protocol/errors.js';
import type { AgentConfig } from '../config.js';
import type { ByteLink } from '../probes/byte-link.js';
import { openSerialLink } from '../probes/serial-link.js';
import { ViscaClient } from '../probes/visca-client.js';
import { detectFraming } from '../probes/visca-ip-detect.js';
import { openViscaIpLink } from '../probes/visca-ip-link.js';
import { powerCommand, powerInquiry, type ViscaPower } from '../probes/visca.js';

export interface PowerCycleTimings {
  /** How long the camera stays in standby: long enough for its supply to settle. */
  offMs: number;
  /** How long a power command may take to complete (cameras park the lens first). */
  commandTimeoutMs: number;
  /** How long to wait for the camera to report "on" again. */
  comeBackMs: number;
}

export const DEFAULT_POWER_CYCLE: PowerCycleTimings = { offMs: 5_000, commandTimeoutMs: 15_000, comeBackMs: 30_000 };

export interface PowerCycleResult {
  camera: string;
  address: number;
  before: ViscaPower | 'no answer';
  after: ViscaPower | 'no answer';
  steps: string[];
  tookMs: number;
}

type CameraLink = { name: string; address: number; open(signal: AbortSignal): Promise<ByteLink> };

/** The configured camera `camera` names: a serial port path, an IP camera's host (or host:port), or either's configured name. */
export function configuredCamera(config: Pick<AgentConfig, 'serialPorts' | 'viscaIp'>, camera: string): CameraLink {
  const serial = config.serialPorts.find((port) => port.protocol === 'visca' && (port.path === camera || port.name === camera));
  if (serial) return { name: serial.path, address: serial.address, open: (signal) => openSerialLink(serial.path, serial.baudRate, signal) };
  const ip = config.viscaIp.find((target) => target.host === camera || `${target.host}:${target.port ?? ''}` === camera || target.name === camera);
  if (ip) {
    return {
      name: ip.port === undefined ? ip.host : `${ip.host}:${ip.port}`,
      address: ip.address,
      open: async (signal) => {
        if (ip.framing !== 'auto') return openViscaIpLink({ host: ip.host, port: ip.port ?? 0, framing: ip.framing }, { signal });
        const detection = await detectFraming(ip.host, ip.port, ip.address, { signal });
        if (!detection.found) throw new AvcareError('VISCA_TIMEOUT', `no VISCA answer from ${ip.host} in any framing`);
        return openViscaIpLink(detection.found, { signal });
      },
    };
  }
  const known = [...config.serialPorts.filter((port) => port.protocol === 'visca').map((port) => port.path), ...config.viscaIp.map((target) => target.host)];
  throw new AvcareError('INVALID_ARGUMENT', `camera "${camera}" is not a VISCA camera this agent is configured for (${known.length > 0 ? known.join(', ') : 'none configured'})`);
}

export async function powerCycleCamera(camera: CameraLink, signal: AbortSignal, timings: PowerCycleTimings = DEFAULT_POWER_CYCLE): Promise<PowerCycleResult> {
  const started = Date.now();
  const steps: string[] = [];
  const link = await camera.open(signal);
  const client = new ViscaClient(link);
  const power = async (): Promise<ViscaPower | 'no answer'> => {
    try {
      const reply = await client.inquire(powerInquiry(camera.address), { expect: 'power', timeoutMs: 1_000, signal });
      return reply.type === 'power' ? reply.power : 'no answer';
    } catch {
      return 'no answer';
    }
  };
  const command = async (on: boolean): Promise<void> => {
    const label = on ? 'power on' : 'standby';
    try {
      await client.inquire(powerCommand(camera.address, on), { timeoutMs: timings.commandTimeoutMs, signal });
      steps.push(`${label}: done`);
    } catch (error) {
      steps.push(`${label}: ${(error as Error).message}`);
      throw error;
    }
  };
  try {
    const before = await power();
    steps.push(`power before: ${before}`);
    await command(false);
    await sleep(timings.offMs, undefined, { signal });
    await command(true);
    let after = await power();
    const deadline = Date.now() + timings.comeBackMs;
    while (after !== 'on' && Date.now() < deadline) {
      await sleep(1_000, undefined, { signal });
      after = await power();
    }
    steps.push(`power after: ${after}`);
    if (after !== 'on') throw new AvcareError('VISCA_TIMEOUT', `camera ${camera.name} did not report power on within ${timings.comeBackMs / 1000} s after the cycle (it says: ${after})`);
    return { camera: camera.name, address: camera.address, before, after, steps, tookMs: Date.now() - started };
  } finally {
    client.detach();
    await link.close().catch(() => undefined);
  }
}
