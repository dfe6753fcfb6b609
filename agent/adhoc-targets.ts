import { AvcareError, type ProbeSource } from '../protocol/index.js';
import type { AgentConfigInput } from './config.js';

type SerialInput = NonNullable<AgentConfigInput['serialPorts']>[number];
type PjlinkInput = NonNullable<AgentConfigInput['pjlink']>[number];
type ViscaIpInput = NonNullable<AgentConfigInput['viscaIp']>[number];

/** `PATH:visca` or `PATH:visca@BAUD`: an IT teacher checking one camera cable. */
export function parseSerialTarget(spec: string): SerialInput {
  const match = /^(.+):(visca)(?:@(\d+))?$/.exec(spec);
  if (!match?.[1]) throw new AvcareError('INVALID_ARGUMENT', `--serial "${spec}" must look like PATH:visca or PATH:visca@BAUD, e.g. /dev/ttyUSB0:visca`, { spec });
  const target: SerialInput = { path: match[1], protocol: 'visca' };
  if (match[3] !== undefined) {
    const baud = Number(match[3]);
    if (baud !== 9600 && baud !== 19200 && baud !== 38400) throw new AvcareError('INVALID_ARGUMENT', `--serial "${spec}": baud rate must be 9600, 19200 or 38400`, { spec });
    target.baudRate = baud;
  }
  return target;
}

/** `HOST[:PORT][,PASSWORD]`; an IPv6 host goes in brackets: `[fd00::5]:4352`. */
export function parsePjlinkTarget(spec: string): PjlinkInput {
  const comma = spec.indexOf(',');
  const address = comma === -1 ? spec : spec.slice(0, comma);
  const password = comma === -1 ? undefined : spec.slice(comma + 1);
  const { host, port } = parseHostPort(address, '--pjlink', 'optionally followed by ,PASSWORD');
  const target: PjlinkInput = { host };
  if (port !== undefined) target.port = port;
  if (password !== undefined) {
    if (password.length === 0 || password.length > 32) throw new AvcareError('INVALID_ARGUMENT', `--pjlink ${host}: the password must be 1-32 characters (PJLink limit)`, { host });
    target.password = password;
  }
  return target;
}

const FRAMINGS = ['sony-ip', 'raw-udp', 'raw-tcp', 'auto'] as const;

/** `HOST[:PORT][@FRAMING]`: without a framing every one is tried and the one that answers is reported. */
export function parseViscaIpTarget(spec: string): ViscaIpInput {
  const at = spec.lastIndexOf('@');
  const address = at === -1 ? spec : spec.slice(0, at);
  const framing = at === -1 ? 'auto' : spec.slice(at + 1);
  if (!isFraming(framing)) throw new AvcareError('INVALID_ARGUMENT', `--visca-ip "${spec}": framing must be one of ${FRAMINGS.join(', ')}`, { spec });
  const { host, port } = parseHostPort(address, '--visca-ip', 'optionally followed by @sony-ip, @raw-udp or @raw-tcp');
  return port === undefined ? { host, framing } : { host, port, framing };
}

function isFraming(value: string): value is (typeof FRAMINGS)[number] {
  return (FRAMINGS as readonly string[]).includes(value);
}

function parseHostPort(address: string, option: string, suffix: string): { host: string; port?: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s@]+))(?::(\d{1,5}))?$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  if (!host) throw new AvcareError('INVALID_ARGUMENT', `${option} "${address}" must look like HOST, HOST:PORT or [IPv6]:PORT, ${suffix}`, { address });
  if (match?.[3] === undefined) return { host };
  const port = Number(match[3]);
  if (port < 1 || port > 65535) throw new AvcareError('INVALID_ARGUMENT', `${option} "${address}": port must be 1-65535`, { address });
  return { host, port };
}

/** Only the probes of the targets named on the command line run: the PC itself is not probed then. */
export function adhocSources(targets: { serial: readonly string[]; pjlink: readonly string[]; viscaIp: readonly string[] }): ProbeSource[] {
  const sources: ProbeSource[] = [];
  if (targets.serial.length > 0) sources.push('serial');
  if (targets.pjlink.length > 0) sources.push('pjlink');
  if (targets.viscaIp.length > 0) sources.push('visca-ip');
  return sources;
}
