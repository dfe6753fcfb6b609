import { realpath } from 'node:fs/promises';
import { AvcareError, type Device } from '../../protocol/index.js';
import type { SerialPortConfig } from '../config.js';
import type { Logger } from '../../protocol/log.js';
import type { Probe } from './probe.js';
import { discoverSerialPorts, type DiscoveredSerialPort } from './serial-discovery.js';
import { openSerialLink, type SerialLink } from './serial-link.js';
import { DEFAULT_INQUIRY_TIMEOUT_MS, ViscaClient, queryCamera } from './visca-client.js';
import { cleanText, withAnswer, withFailure } from './visca-device.js';

export interface SerialProbeOptions {
  open?: typeof openSerialLink;
  discover?: typeof discoverSerialPorts;
  /** Per VISCA inquiry; a port is given at most three inquiries plus the time to open it. */
  inquiryTimeoutMs?: number;
}

/** Opening a local tty takes milliseconds; this only guards against a driver that stalls. */
const OPEN_ALLOWANCE_MS = 1000;
const INQUIRIES_PER_PORT = 3;
/** A serial connection needs a baud rate; ports we do not speak to are listed at VISCA's default. */
const UNUSED_BAUD_RATE = 9600;
const MAX_TEXT_LENGTH = 256;

/**
 * Speaks VISCA to every configured camera port (in parallel, each bounded, one bad port never
 * stopping the others) and, when discovery is on, lists the other serial ports without
 * opening them: we do not write to ports nobody told us about.
 */
export function createSerialProbe(options: SerialProbeOptions = {}): Probe {
  const open = options.open ?? openSerialLink;
  const discover = options.discover ?? discoverSerialPorts;
  const inquiryTimeoutMs = options.inquiryTimeoutMs ?? DEFAULT_INQUIRY_TIMEOUT_MS;

  return {
    id: 'serial',
    async run(context, signal) {
      const log = context.log.child({ probe: 'serial' });
      const { serialPorts } = context.config;
      const devices = await Promise.all(
        serialPorts.map((port) =>
          port.protocol === 'visca' ? probeViscaPort(port, { open, inquiryTimeoutMs, log }, signal) : Promise.resolve(listedPort(port)),
        ),
      );
      if (context.config.discoverSerialPorts) devices.push(...(await unconfiguredPorts(serialPorts, discover, log)));
      return { state: 'ok', devices };
    },
  };
}

interface PortDeps {
  open: typeof openSerialLink;
  inquiryTimeoutMs: number;
  log: Logger;
}

async function probeViscaPort(port: SerialPortConfig, deps: PortDeps, probeSignal: AbortSignal): Promise<Device> {
  const { open, inquiryTimeoutMs, log } = deps;
  const budgetMs = OPEN_ALLOWANCE_MS + INQUIRIES_PER_PORT * inquiryTimeoutMs;
  const budget = new AbortController();
  const timer = setTimeout(
    () => budget.abort(new AvcareError('VISCA_TIMEOUT', `${port.path} did not finish answering within ${budgetMs} ms`, { path: port.path, raw: '' })),
    budgetMs,
  );
  const signal = AbortSignal.any([probeSignal, budget.signal]);
  const device = viscaDevice(port);
  let link: SerialLink | undefined;
  try {
    link = await open(port.path, port.baudRate, signal);
    const client = new ViscaClient(link, { log });
    try {
      const info = await queryCamera(client, port.address, { timeoutMs: inquiryTimeoutMs, signal });
      return withAnswer(device, info);
    } finally {
      client.detach();
    }
  } catch (error) {
    // Debug only: a camera left unplugged would log every cycle; the device's error carries it.
    log.debug({ path: port.path, err: error }, 'VISCA camera did not answer properly');
    return withFailure(device, error);
  } finally {
    clearTimeout(timer);
    if (link !== undefined) await closeLink(link, port.path, log);
  }
}

function viscaDevice(port: SerialPortConfig): Device {
  return {
    id: deviceId(port.path),
    kind: 'camera',
    name: cleanText(port.name ?? `VISCA camera on ${port.path}`),
    connection: { type: 'serial', path: port.path, protocol: 'visca', baudRate: port.baudRate },
    status: 'unknown',
    visca: { address: port.address, power: 'unknown' },
  };
}

function listedPort(port: SerialPortConfig): Device {
  return {
    id: deviceId(port.path),
    kind: 'serial-adapter',
    name: cleanText(port.name ?? `Serial port ${port.path}`),
    connection: { type: 'serial', path: port.path, protocol: 'none', baudRate: port.baudRate },
    status: 'unknown',
  };
}

async function unconfiguredPorts(configured: readonly SerialPortConfig[], discover: typeof discoverSerialPorts, log: Logger): Promise<Device[]> {
  let discovered: DiscoveredSerialPort[];
  try {
    discovered = await discover();
  } catch (error) {
    // Discovery only adds unconfigured ports to the list; the configured cameras still count.
    log.warn({ err: error }, 'serial port discovery failed');
    return [];
  }
  const configuredPaths = new Set(configured.map((port) => port.path));
  const configuredRealPaths = new Set(await Promise.all(configured.map((port) => realPathOrSelf(port.path))));
  return discovered
    .filter((port) => !configuredPaths.has(port.path) && !configuredRealPaths.has(port.realPath))
    .map((port) => ({
      id: deviceId(port.path),
      kind: 'serial-adapter',
      name: cleanText(`Serial port ${port.byId ?? port.path}`),
      connection: { type: 'serial', path: port.path, protocol: 'none', baudRate: UNUSED_BAUD_RATE },
      status: 'unknown',
    }));
}

/** A configured port that is unplugged has no real path; its configured path then stands for itself. */
async function realPathOrSelf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (error instanceof Error) return path;
    throw error;
  }
}

async function closeLink(link: SerialLink, path: string, log: Logger): Promise<void> {
  try {
    await link.close();
  } catch (error) {
    log.warn({ path, err: error }, 'closing the serial port failed');
  }
}

/** Device ids are capped by the schema; a path that long is not a real tty anyway. */
function deviceId(path: string): string {
  return `serial:${path}`.slice(0, MAX_TEXT_LENGTH);
}

