import { AvcareError } from '../protocol/index.js';
import type { AgentConfigInput } from './config.js';

type SerialInput = NonNullable<AgentConfigInput['serialPorts']>[number];
type PjlinkInput = NonNullable<AgentConfigInput['pjlink']>[number];

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
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  if (!host) throw new AvcareError('INVALID_ARGUMENT', `--pjlink "${address}" must look like HOST, HOST:PORT or [IPv6]:PORT, optionally followed by ,PASSWORD`, { address });
  const target: PjlinkInput = { host };
  if (match?.[3] !== undefined) {
    const port = Number(match[3]);
    if (port < 1 || port > 65535) throw new AvcareError('INVALID_ARGUMENT', `--pjlink "${address}": port must be 1-65535`, { address });
    target.port = port;
  }
  if (password !== undefined) {
    if (password.length === 0 || password.length > 32) throw new AvcareError('INVALID_ARGUMENT', `--pjlink ${host}: the password must be 1-32 characters (PJLink limit)`, { host });
    target.password = password;
  }
  return target;
}
