/**
 * Is video held back by a network policy? A media-like UDP flow (1200-byte datagrams, paced) at
 * rising rates to the reflector's probe port, then a bulk TCP upload to the same port: when the
 * UDP flow stops following its rate far below what TCP gets on the same path, something treats
 * UDP (media) worse than bulk data. A path that is merely slow holds both back alike, and loss
 * alone takes a few percent, not half.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AvcareError } from '../../protocol/errors.js';
import { PROBE_DATAGRAM_BYTES, PROBE_TOKEN_BYTES, probeReportSchema, uploadResultSchema } from '../../protocol/measure-probe.js';
import type { ThrottleResult } from '../../protocol/measure-result.js';

export interface ThrottleCheckOptions {
  host: string;
  udpPort: number;
  tcpPort: number;
  token: string;
  /** Rates of the UDP steps, lowest first (kbit/s). */
  stepsKbps?: readonly number[];
  stepMs?: number;
  bulkMs?: number;
  signal?: AbortSignal;
}

/** Up to 4 Mbit/s: room for a classroom's 1.5 Mbit/s video with headroom, without flooding a school's uplink. */
export const DEFAULT_STEPS_KBPS = [500, 1000, 2000, 4000] as const;
/** A step that delivers less than this share of its rate is not following it. */
const FOLLOWING = 0.7;
/** Media held below bulk by at least this factor is throttled. */
const BULK_FACTOR = 2;

export async function checkThrottling(options: ThrottleCheckOptions): Promise<ThrottleResult> {
  const { host, udpPort, tcpPort, token, stepsKbps = DEFAULT_STEPS_KBPS, stepMs = 1000, bulkMs = 2000, signal } = options;
  if (Buffer.byteLength(token, 'latin1') !== PROBE_TOKEN_BYTES) throw new AvcareError('MEASURE_FAILED', 'the reflector gave a malformed probe token');
  await sendSteps({ host, port: udpPort, token, stepsKbps, stepMs, signal });
  // Stragglers still in queues count for their step.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const report = probeReportSchema.parse(JSON.parse(await tcpExchange({ host, port: tcpPort, header: `AVCARE-PROBE 1 ${token} report\n` })));
  const upload = await bulkUpload({ host, port: tcpPort, token, ms: bulkMs, ...(signal ? { signal } : {}) }).catch(() => null);
  const steps = stepsKbps.map((targetKbps, index) => {
    const counted = report.steps.find((step) => step.step === index);
    const sent = Math.round((targetKbps * stepMs) / 8 / PROBE_DATAGRAM_BYTES);
    const goodputKbps = counted ? Math.round((counted.bytes * 8) / stepMs) : 0;
    return { targetKbps, goodputKbps, lossPercent: sent > 0 ? Math.round(Math.max(0, 100 * (1 - (counted?.packets ?? 0) / sent)) * 10) / 10 : 0 };
  });
  return judgeThrottling(steps, upload === null ? null : Math.round((upload.bytes * 8) / upload.ms));
}

/** The rule, pure: where the UDP flow stops following its rate, and whether TCP does much better there. */
export function judgeThrottling(steps: ThrottleResult['steps'], bulkKbps: number | null): ThrottleResult {
  const mediaKbps = Math.max(0, ...steps.map((step) => step.goodputKbps));
  const lagging = steps.filter((step) => step.goodputKbps < FOLLOWING * step.targetKbps);
  if (lagging.length === 0) return { steps, bulkKbps, mediaKbps, capKbps: null, throttled: false };
  // The fastest step that lagged shows the ceiling; the first one still carries the queue it drained.
  const capKbps = lagging.at(-1)?.goodputKbps ?? mediaKbps;
  if (bulkKbps === null) return { steps, bulkKbps, mediaKbps, capKbps, throttled: false, note: 'the bulk TCP transfer failed: nothing to compare the media flow with' };
  const throttled = bulkKbps >= BULK_FACTOR * mediaKbps;
  return {
    steps,
    bulkKbps,
    mediaKbps,
    capKbps,
    throttled,
    ...(throttled ? {} : { note: 'the media flow stops following its rate, but bulk TCP is no faster: the path itself is slow' }),
  };
}

async function sendSteps(options: { host: string; port: number; token: string; stepsKbps: readonly number[]; stepMs: number; signal: AbortSignal | undefined }): Promise<void> {
  const socket = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
  socket.on('error', () => undefined);
  try {
    const datagram = Buffer.alloc(PROBE_DATAGRAM_BYTES);
    datagram.write(options.token, 0, 'latin1');
    let seq = 0;
    for (const [index, kbps] of options.stepsKbps.entries()) {
      datagram[PROBE_TOKEN_BYTES] = index;
      const start = performance.now();
      let sent = 0;
      const due = (): number => Math.floor((((performance.now() - start) * kbps) / 8 / PROBE_DATAGRAM_BYTES) + 1);
      const total = Math.round((kbps * options.stepMs) / 8 / PROBE_DATAGRAM_BYTES);
      // Paced every 2 ms, like a media sender's pacer: a burst would measure the queue, not the rate.
      while (sent < total) {
        options.signal?.throwIfAborted();
        const now = Math.min(total, due());
        for (; sent < now; sent += 1) {
          datagram.writeUInt32BE(seq++ >>> 0, PROBE_TOKEN_BYTES + 1);
          socket.send(datagram, options.port, options.host);
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
  } finally {
    socket.close();
  }
}

function tcpExchange(options: { host: string; port: number; header: string; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(options.port, options.host);
    let answer = '';
    socket.setTimeout(options.timeoutMs ?? 5_000, () => socket.destroy(new Error('the probe port did not answer')));
    socket.on('connect', () => socket.write(options.header));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** As fast as TCP goes for `ms`, then half-close: the reflector counts what arrived and when. */
function bulkUpload(options: { host: string; port: number; token: string; ms: number; signal?: AbortSignal }): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(options.port, options.host);
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let answer = '';
    let stopAt = 0;
    socket.setTimeout(options.ms + 10_000, () => socket.destroy(new Error('the bulk transfer stalled')));
    const pump = (): void => {
      while (performance.now() < stopAt) {
        if (options.signal?.aborted) {
          socket.destroy();
          return;
        }
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    socket.on('connect', () => {
      socket.write(`AVCARE-PROBE 1 ${options.token} upload\n`);
      stopAt = performance.now() + options.ms;
      pump();
    });
    socket.on('data', (data: Buffer) => (answer += data.toString('utf8')));
    socket.on('end', () => {
      try {
        resolve(uploadResultSchema.parse(JSON.parse(answer)));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    socket.on('error', reject);
  });
}
