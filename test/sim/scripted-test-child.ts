/**
 * A test process that answers at once with a network result whose loss is AVCARE_SCRIPTED_LOSS
 * percent both ways: the fault path, hysteresis and telemetry without a minute of media.
 */
import { randomUUID } from 'node:crypto';
import { summariseNetwork } from '../../agent/measure/network-summary.js';

const loss = Number(process.env.AVCARE_SCRIPTED_LOSS ?? 0);
const media = (lost: number) => ({
  durationMs: 10_000,
  audio: { packetsReceived: 500 - lost, packetsLost: lost, bytesReceived: 40_000, jitterMs: 4 },
  video: { packetsReceived: 1500, packetsLost: 3 * lost, bytesReceived: 1_800_000, jitterMs: 9, framesDecoded: 290, width: 1280, height: 720, freezes: 0, freezeMs: 0 },
});

process.on('message', () => {
  const lost = Math.round(5 * loss);
  const result = summariseNetwork({ reflectorId: 'scripted', sessionId: randomUUID(), durationMs: 10_000, down: media(lost), up: media(lost), rttMs: 40, rttSamples: 100, rttRtcpMs: 41, availableOutgoingKbps: 3000, throttle: null });
  process.send?.({ type: 'result', result, usage: { cpuMs: 10, cpuPercent: 1, maxRssBytes: 50_000_000 } });
  process.disconnect?.();
});
