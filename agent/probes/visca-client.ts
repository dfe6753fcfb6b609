import { AvcareError, isAvcareError, type ViscaInfo } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../../protocol/log.js';
import type { ByteLink } from './byte-link.js';
import {
  ViscaFrameSplitter,
  commandTarget,
  parseReply,
  powerInquiry,
  toHex,
  versionInquiry,
  zoomPositionInquiry,
  type ReplyExpectation,
  type ViscaReply,
} from './visca.js';

/** Cameras answer in well under 100 ms at 9600 baud; a second leaves room for slow adapters. */
export const DEFAULT_INQUIRY_TIMEOUT_MS = 1000;
/** Enough bytes to show a technician what came back, small enough for a device report. */
const MAX_RAW_BYTES = 64;

export interface InquiryOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Which inquiry the command is, so its payload can be decoded; 'any' returns the bare completion. */
  expect?: ReplyExpectation;
}

interface PendingInquiry {
  readonly address: number;
  readonly expect: ReplyExpectation;
  readonly received: number[];
  resolve(reply: ViscaReply): void;
  reject(error: Error): void;
}

/**
 * Sends one VISCA inquiry at a time over a ByteLink (serial, UDP or TCP) and waits for the matching reply. Every
 * wait is bounded by a timeout and the caller's AbortSignal, so a silent camera never hangs a
 * probe cycle. Bytes that arrive while no inquiry waits (a late answer to one that timed out)
 * are dropped rather than taken for the next answer.
 */
export class ViscaClient {
  private readonly splitter = new ViscaFrameSplitter();
  private readonly link: ByteLink;
  private readonly detachLink: () => void;
  private readonly detachUnreadable: () => void;
  private readonly log: Logger;
  private pending: PendingInquiry | undefined;
  private detached = false;
  /** Serialises inquiries: VISCA replies carry no id, so only one may be in flight. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(link: ByteLink, options: { log?: Logger } = {}) {
    this.link = link;
    this.log = options.log ?? silentLogger;
    this.detachLink = link.onData((bytes) => this.receive(bytes));
    this.detachUnreadable = link.onUnreadable?.((raw, reason) => this.unreadable(raw, reason)) ?? noop;
  }

  inquire(command: Uint8Array, options: InquiryOptions = {}): Promise<ViscaReply> {
    const run = (): Promise<ViscaReply> => this.inquireNow(command, options);
    const result = this.queue.then(run, run);
    // The queue only orders inquiries; each caller gets its own outcome through `result`.
    this.queue = result.then(noop, noop);
    return result;
  }

  /** Stops listening to the link; an inquiry still waiting is rejected. Does not close the link. */
  detach(): void {
    this.detached = true;
    this.detachLink();
    this.detachUnreadable();
    this.pending?.reject(new AvcareError('PROBE_FAILED', 'VISCA client detached while an inquiry was waiting'));
  }

  private inquireNow(command: Uint8Array, options: InquiryOptions): Promise<ViscaReply> {
    const { timeoutMs = DEFAULT_INQUIRY_TIMEOUT_MS, signal, expect = 'any' } = options;
    const target = commandTarget(command);
    // Broadcast replies carry header 0x88; address 0 makes every camera's own reply "foreign".
    const address = target === 'broadcast' ? 0 : target;
    return new Promise<ViscaReply>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      if (this.detached) {
        reject(new AvcareError('PROBE_FAILED', 'VISCA client is detached from its link'));
        return;
      }
      // Half a packet left from an earlier inquiry must not be glued to this reply.
      this.splitter.reset();
      const received: number[] = [];
      const settle = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.pending === pending) this.pending = undefined;
      };
      const pending: PendingInquiry = {
        address,
        expect,
        received,
        resolve: (reply) => {
          settle();
          resolve(reply);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = (): void => pending.reject(abortReason(signal));
      const timer = setTimeout(() => pending.reject(timeoutError(address, timeoutMs, received)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending = pending;

      this.link.write(command).then(noop, (error: unknown) => {
        // A link that knows what failed (a TCP connection the camera closed) says so itself.
        if (isAvcareError(error)) return pending.reject(error);
        const reason = error instanceof Error ? error.message : String(error);
        pending.reject(new AvcareError('SERIAL_IO_FAILED', `writing the VISCA inquiry failed: ${reason}`, { sent: toHex(command) }, { cause: error }));
      });
    });
  }

  /** Something arrived that the transport could not read: an answer, but not one we understand. */
  private unreadable(raw: Uint8Array, reason: string): void {
    const pending = this.pending;
    if (pending === undefined) return;
    pending.reject(new AvcareError('VISCA_GARBLED', `unreadable reply ${toHex(raw.subarray(0, MAX_RAW_BYTES))}: ${reason}`, { raw: toHex(raw.subarray(0, MAX_RAW_BYTES)), reason }));
  }

  private receive(bytes: Uint8Array): void {
    const pending = this.pending;
    if (pending === undefined) {
      this.splitter.reset();
      this.log.debug({ raw: toHex(bytes) }, 'dropping VISCA bytes that arrived while no inquiry was waiting');
      return;
    }
    for (const byte of bytes) {
      if (pending.received.length < MAX_RAW_BYTES) pending.received.push(byte);
    }
    const { packets, junk } = this.splitter.feed(bytes);
    if (junk.length > 0) this.log.debug({ junk: junk.map(toHex) }, 'VISCA bytes outside any packet');
    for (const packet of packets) {
      const reply = parseReply(packet, pending.address, pending.expect);
      switch (reply.type) {
        case 'foreign':
          this.log.debug({ raw: toHex(packet), from: reply.address }, 'reply from another camera on the chain');
          continue;
        case 'ack':
          // A command is acknowledged before it completes; keep waiting for the completion.
          continue;
        case 'garbled':
          pending.reject(
            new AvcareError('VISCA_GARBLED', `unreadable VISCA reply ${toHex(packet)}: ${reply.reason}`, {
              raw: hexOf(pending.received),
              reason: reply.reason,
            }),
          );
          return;
        case 'error':
          pending.reject(
            new AvcareError('VISCA_ERROR_REPLY', `camera answered with VISCA error "${reply.error}" (${toHex(packet)})`, {
              raw: hexOf(pending.received),
              error: reply.error,
              socket: reply.socket,
            }),
          );
          return;
        default:
          pending.resolve(reply);
          return;
      }
    }
  }
}

export interface QueryOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Power first: a camera in standby still answers it. Zoom and version only when the camera is
 * on, and a camera that rejects them (many non-Sony cameras lack the version inquiry) still
 * gives a result without them. Deliberately sends no broadcast (IF_Clear, address set): those
 * would cancel commands or renumber every camera on the daisy chain.
 */
export async function queryCamera(client: ViscaClient, address: number, options: QueryOptions = {}): Promise<ViscaInfo> {
  const power = await client.inquire(powerInquiry(address), { ...options, expect: 'power' });
  if (!isReply(power, 'power')) throw unexpectedReply(power);
  const info: ViscaInfo = { address, power: power.power };
  if (power.power !== 'on') return info;

  const zoom = await unlessRejected(client.inquire(zoomPositionInquiry(address), { ...options, expect: 'zoom' }));
  if (zoom !== undefined) {
    if (!isReply(zoom, 'zoom')) throw unexpectedReply(zoom);
    info.zoomPosition = zoom.position;
  }
  const version = await unlessRejected(client.inquire(versionInquiry(address), { ...options, expect: 'version' }));
  if (version !== undefined) {
    if (!isReply(version, 'version')) throw unexpectedReply(version);
    const { vendorId, modelId, romVersion, socketCount } = version;
    info.version = { vendorId, modelId, romVersion, socketCount };
  }
  return info;
}

/** An error reply to an optional inquiry means "not supported"; anything else still fails the query. */
async function unlessRejected(inquiry: Promise<ViscaReply>): Promise<ViscaReply | undefined> {
  try {
    return await inquiry;
  } catch (error) {
    if (isAvcareError(error) && error.code === 'VISCA_ERROR_REPLY') return undefined;
    throw error;
  }
}

function isReply<T extends ViscaReply['type']>(reply: ViscaReply, type: T): reply is Extract<ViscaReply, { type: T }> {
  return reply.type === type;
}

function unexpectedReply(reply: ViscaReply): AvcareError {
  return new AvcareError('VISCA_GARBLED', `unexpected VISCA reply of type ${reply.type}`, { reply: reply.type });
}

function timeoutError(address: number, timeoutMs: number, received: readonly number[]): AvcareError {
  const who = address === 0 ? 'the VISCA chain' : `VISCA camera ${address}`;
  const extra = received.length > 0 ? `; ${received.length} byte(s) arrived but formed no reply (wrong baud rate or not a VISCA device?)` : '';
  return new AvcareError('VISCA_TIMEOUT', `no reply from ${who} within ${timeoutMs} ms${extra}`, { raw: hexOf(received), timeoutMs });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new AvcareError('PROBE_TIMEOUT', 'VISCA inquiry aborted');
}

function hexOf(bytes: readonly number[]): string {
  return toHex(Uint8Array.from(bytes));
}

function noop(): void {
  // Deliberately nothing: see the call site.
}
