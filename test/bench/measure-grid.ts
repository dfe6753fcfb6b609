/**
 * bench:measure's grid and its judgement, pure: which impairments each cell applies, and whether
 * what the agent measured is within the targets of the ground truth the relay kept.
 */
import type { Impairment, DirectionTruth } from '../sim/impaired-relay.js';

export const DELAYS_MS = [0, 50, 150] as const;
export const JITTERS_MS = [0, 10, 30] as const;
export const LOSSES_PERCENT = [0, 2, 5] as const;
/** UDP-only caps, below and near the classroom's 1.5 Mbit/s video. */
export const CAPS_KBPS = [800, 1500] as const;
export const AV_OFFSETS_MS = [-120, -40, 0, 40, 120] as const;

export const TARGETS = { rttAbsMs: 5, rttRelative: 0.1, lossPp: 1, jitterMs: 5, avMs: 15 } as const;

export function networkGrid(quick: boolean): Impairment[] {
  const cells: Impairment[] = [];
  const delays = quick ? [0, 150] : DELAYS_MS;
  const jitters = quick ? [0, 30] : JITTERS_MS;
  const losses = quick ? [0, 5] : LOSSES_PERCENT;
  for (const delayMs of delays) for (const jitterMs of jitters) for (const lossPercent of losses) cells.push({ delayMs, jitterMs, lossPercent, rateKbps: 0 });
  for (const rateKbps of quick ? [800] : CAPS_KBPS) for (const delayMs of quick ? [0] : [0, 50]) cells.push({ delayMs, jitterMs: 0, lossPercent: 0, rateKbps });
  return cells;
}

export interface MeasuredDirection {
  lossPercent: number;
  jitterMs: number;
}

export interface CellJudgement {
  rttErrorMs: number | null;
  rttOk: boolean;
  lossErrorPp: { up: number | null; down: number };
  lossOk: boolean;
  jitterErrorMs: { up: number | null; down: number };
  jitterOk: boolean;
  throttleOk: boolean;
  pass: boolean;
}

/** What the relay dropped of the very packets the agent counts loss on (audio and the data channel); of all RTP when it saw none. */
export function truthLoss(truth: DirectionTruth): number {
  if (truth.countedPackets > 0) return (100 * truth.countedDropped) / truth.countedPackets;
  return truth.rtpPackets > 0 ? (100 * truth.rtpDropped) / truth.rtpPackets : 0;
}

/**
 * Capped cells are judged on throttling only (the cap queues and drops by design); the others on
 * round trip, loss and jitter, and on not seeing throttling that is not there.
 */
export function judgeCell(
  cell: Impairment,
  measured: { rttMs: number | null; up: MeasuredDirection | null; down: MeasuredDirection; throttled: boolean },
  truth: { up: DirectionTruth; down: DirectionTruth },
): CellJudgement {
  const capped = cell.rateKbps > 0;
  const rttTruth = truth.up.meanAddedMs + truth.down.meanAddedMs;
  const rttErrorMs = measured.rttMs === null ? null : Math.abs(measured.rttMs - rttTruth);
  const rttOk = capped || (rttErrorMs !== null && rttErrorMs <= Math.max(TARGETS.rttAbsMs, TARGETS.rttRelative * rttTruth));
  const lossErrorPp = { up: measured.up === null ? null : Math.abs(measured.up.lossPercent - truthLoss(truth.up)), down: Math.abs(measured.down.lossPercent - truthLoss(truth.down)) };
  const lossOk = capped || (lossErrorPp.up !== null && lossErrorPp.up <= TARGETS.lossPp && lossErrorPp.down <= TARGETS.lossPp);
  const jitterErrorMs = { up: measured.up === null ? null : Math.abs(measured.up.jitterMs - truth.up.audioJitterMs), down: Math.abs(measured.down.jitterMs - truth.down.audioJitterMs) };
  const jitterOk = capped || (jitterErrorMs.up !== null && jitterErrorMs.up <= TARGETS.jitterMs && jitterErrorMs.down <= TARGETS.jitterMs);
  const throttleOk = measured.throttled === capped;
  return { rttErrorMs, rttOk, lossErrorPp, lossOk, jitterErrorMs, jitterOk, throttleOk, pass: rttOk && lossOk && jitterOk && throttleOk };
}
