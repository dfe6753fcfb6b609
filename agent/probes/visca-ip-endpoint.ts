/** What every VISCA-over-IP transport shares: where it goes, how it is set up, what it counts. */
import type { ViscaFraming } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import type { ByteLink } from './byte-link.js';

export type { ViscaFraming } from '../../protocol/index.js';

export interface ViscaIpEndpoint {
  host: string;
  port: number;
  framing: ViscaFraming;
}

export interface ViscaIpLinkOptions {
  signal?: AbortSignal;
  log?: Logger;
  /** UDP: send a datagram again when nothing came back for this long (lost on the way there or back). */
  retransmitMs?: number;
  /** UDP: how often one datagram is sent at most, the first time included. */
  maxSends?: number;
  /** Sony: how long to wait for the camera to acknowledge the sequence reset before going on without. */
  resetWaitMs?: number;
  /** TCP: how long a connection may take. */
  connectTimeoutMs?: number;
}

/** What happened on the wire: evidence for a technician wondering about a lossy network. */
export interface ViscaIpLinkStats {
  sent: number;
  retransmitted: number;
  received: number;
  duplicatesDropped: number;
  staleDropped: number;
  sequenceResets: number;
}

export interface ViscaIpLink extends ByteLink {
  readonly endpoint: ViscaIpEndpoint;
  stats(): ViscaIpLinkStats;
}

export function where(endpoint: ViscaIpEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port} (${endpoint.framing})`;
}

