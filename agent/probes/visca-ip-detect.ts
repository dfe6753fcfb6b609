/**
 * "auto" framing: vendors disagree on how VISCA travels over IP, and the teacher rarely knows.
 * Each framing is tried in turn with the one inquiry every camera answers (power), on the port
 * given or on the ports vendors use; the first that answers wins and is reported, so it can be
 * pinned in the configuration.
 */
import { isAvcareError, type ViscaFraming, type ViscaInfo } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import { ViscaClient } from './visca-client.js';
import { openViscaIpLink, type ViscaIpEndpoint, type ViscaIpLink } from './visca-ip-link.js';
import { powerInquiry } from './visca.js';

export const SONY_VISCA_IP_PORT = 52381;
export const RAW_VISCA_TCP_PORT = 5678;
/** Some cameras take bare VISCA datagrams on this port instead of 52381. */
export const RAW_VISCA_UDP_ALT_PORT = 1259;

export const DEFAULT_PORT: Readonly<Record<ViscaFraming, number>> = {
  'sony-ip': SONY_VISCA_IP_PORT,
  'raw-udp': SONY_VISCA_IP_PORT,
  'raw-tcp': RAW_VISCA_TCP_PORT,
};

export type FramingAttempt = NonNullable<ViscaInfo['framingAttempts']>[number];

export interface DetectOptions {
  open?: typeof openViscaIpLink;
  /** Per framing tried; the Sony attempt includes its sequence reset. */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

export interface Detection {
  /** The endpoint that answered, if any. */
  found?: ViscaIpEndpoint;
  attempts: FramingAttempt[];
}

const DEFAULT_ATTEMPT_TIMEOUT_MS = 800;

/** Sony's framing first: a Sony camera ignores bare bytes, while a lenient raw camera may find a packet inside Sony's header. */
export function framingCandidates(host: string, port: number | undefined): ViscaIpEndpoint[] {
  if (port !== undefined) return (['sony-ip', 'raw-udp', 'raw-tcp'] as const).map((framing) => ({ host, port, framing }));
  return [
    { host, port: SONY_VISCA_IP_PORT, framing: 'sony-ip' },
    { host, port: SONY_VISCA_IP_PORT, framing: 'raw-udp' },
    { host, port: RAW_VISCA_UDP_ALT_PORT, framing: 'raw-udp' },
    { host, port: RAW_VISCA_TCP_PORT, framing: 'raw-tcp' },
  ];
}

export async function detectFraming(host: string, port: number | undefined, address: number, options: DetectOptions = {}): Promise<Detection> {
  const attempts: FramingAttempt[] = [];
  for (const endpoint of framingCandidates(host, port)) {
    options.signal?.throwIfAborted();
    const attempt = await tryFraming(endpoint, address, options);
    attempts.push(attempt);
    options.log?.debug({ host, port: endpoint.port, framing: endpoint.framing, outcome: attempt.outcome }, 'VISCA framing tried');
    if (attempt.outcome === 'answered') return { found: endpoint, attempts };
  }
  return { attempts };
}

async function tryFraming(endpoint: ViscaIpEndpoint, address: number, options: DetectOptions): Promise<FramingAttempt> {
  const { open = openViscaIpLink, attemptTimeoutMs = DEFAULT_ATTEMPT_TIMEOUT_MS, signal, log } = options;
  const base = { framing: endpoint.framing, port: endpoint.port };
  let link: ViscaIpLink | undefined;
  try {
    link = await open(endpoint, { ...(signal === undefined ? {} : { signal }), ...(log === undefined ? {} : { log }) });
    const client = new ViscaClient(link, log === undefined ? {} : { log });
    try {
      const reply = await client.inquire(powerInquiry(address), { timeoutMs: attemptTimeoutMs, expect: 'power', ...(signal === undefined ? {} : { signal }) });
      return { ...base, outcome: 'answered', detail: reply.type === 'power' ? `power ${reply.power}` : `answered ${reply.type}` };
    } finally {
      client.detach();
    }
  } catch (error) {
    if (signal?.aborted) throw error;
    return { ...base, ...outcomeOf(error) };
  } finally {
    await link?.close();
  }
}

function outcomeOf(error: unknown): Pick<FramingAttempt, 'outcome' | 'detail'> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 512);
  if (!isAvcareError(error)) return { outcome: 'silent', detail: message };
  switch (error.code) {
    // An error reply is VISCA in this framing: the camera is there and speaks it.
    case 'VISCA_ERROR_REPLY':
      return { outcome: 'answered', detail: message };
    case 'VISCA_GARBLED':
      return { outcome: 'garbled', detail: message };
    case 'VISCA_CONNECT_FAILED':
      return { outcome: 'refused', detail: message };
    case 'VISCA_TIMEOUT': {
      const raw = error.context.raw;
      return typeof raw === 'string' && raw.length > 0 ? { outcome: 'garbled', detail: message } : { outcome: 'silent', detail: 'no reply' };
    }
    default:
      return { outcome: 'silent', detail: message };
  }
}

/** One line per framing tried, for an error message a teacher can act on. */
export function describeAttempts(attempts: readonly FramingAttempt[]): string {
  return attempts.map((attempt) => `${attempt.framing} on ${attempt.port}: ${attempt.outcome === 'silent' ? 'no reply' : attempt.detail}`).join('; ');
}

