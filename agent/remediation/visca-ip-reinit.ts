import { silentLogger, type Logger } from '../../protocol/log.js';
import { DEFAULT_INQUIRY_TIMEOUT_MS, ViscaClient } from '../probes/visca-client.js';
import { openViscaIpLink, where, type ViscaIpEndpoint, type ViscaIpLink } from '../probes/visca-ip-link.js';
import { cameraIfClear } from '../probes/visca.js';

export interface ViscaIpReinitTarget extends ViscaIpEndpoint {
  address: number;
}

export interface ViscaIpReinitOptions {
  open?: typeof openViscaIpLink;
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * The network camera's counterpart of a serial chain re-init: a fresh link (which, in Sony's
 * framing, resets the sequence counter a camera may have lost track of) and an IF_Clear sent to
 * the camera itself, which empties a command buffer stuck on a half-received command. The result
 * is a sentence for the fault's evidence, never an exception.
 */
export async function reinitViscaIpCamera(target: ViscaIpReinitTarget, options: ViscaIpReinitOptions = {}): Promise<string> {
  const { open = openViscaIpLink, timeoutMs = DEFAULT_INQUIRY_TIMEOUT_MS, signal, log = silentLogger } = options;
  const endpoint: ViscaIpEndpoint = { host: target.host, port: target.port, framing: target.framing };
  const fresh = target.framing === 'sony-ip' ? 'reset the VISCA-over-IP sequence and sent' : 'sent';
  let link: ViscaIpLink;
  try {
    link = await open(endpoint, { log, ...(signal === undefined ? {} : { signal }) });
  } catch (error) {
    return `could not reach ${where(endpoint)} to re-initialise the camera: ${reasonOf(error)}`;
  }
  const client = new ViscaClient(link, { log });
  try {
    const reply = await client.inquire(cameraIfClear(target.address), { timeoutMs, ...(signal === undefined ? {} : { signal }) });
    return reply.type === 'completion'
      ? `${fresh} IF_Clear to camera ${target.address} at ${where(endpoint)}: the camera answered`
      : `${fresh} IF_Clear to camera ${target.address} at ${where(endpoint)}: it answered with an unexpected ${reply.type} reply`;
  } catch (error) {
    return `${fresh} IF_Clear to camera ${target.address} at ${where(endpoint)}: no answer (${reasonOf(error)})`;
  } finally {
    client.detach();
    await link.close();
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
