/**
 * How a call feels, from the network's numbers: the simplified E-model (ITU-T G.107 as most
 * monitors simplify it) and the targets schools' remote classes are held to. Pure functions.
 *
 *   effective latency EL = one-way latency + 2 * jitter + 10 ms, one-way latency = RTT / 2
 *   R = 93.2 - EL / 40            when EL < 160 ms
 *   R = 93.2 - (EL - 120) / 10    otherwise
 *   R -= 2.5 * loss (percent);    MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R)
 */
import { PATH_LIMITS, PATH_TARGETS } from '../../protocol/measure-targets.js';

export interface PathQuality {
  rttMs: number;
  jitterMs: number;
  /** Percent of packets lost, 0-100. */
  lossPercent: number;
}

export type RBand = 'excellent' | 'good' | 'fair' | 'poor' | 'bad';

export interface CallQuality {
  /** The latency the model used: one way, half the round trip. */
  oneWayLatencyMs: number;
  effectiveLatencyMs: number;
  r: number;
  mos: number;
  band: RBand;
}

export function callQuality(path: PathQuality): CallQuality {
  const oneWayLatencyMs = path.rttMs / 2;
  const effectiveLatencyMs = oneWayLatencyMs + 2 * path.jitterMs + 10;
  const fromLatency = effectiveLatencyMs < 160 ? 93.2 - effectiveLatencyMs / 40 : 93.2 - (effectiveLatencyMs - 120) / 10;
  const r = clamp(fromLatency - 2.5 * path.lossPercent, 0, 100);
  const mos = clamp(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 1, 4.5);
  return { oneWayLatencyMs, effectiveLatencyMs, r: round(r, 1), mos: round(mos, 2), band: band(r) };
}

function band(r: number): RBand {
  if (r >= 90) return 'excellent';
  if (r >= 80) return 'good';
  if (r >= 70) return 'fair';
  if (r >= 60) return 'poor';
  return 'bad';
}

export { PATH_LIMITS, PATH_TARGETS };

export type PathVerdict = 'meets-targets' | 'below-targets' | 'poor';

/** Which of the path's numbers miss the targets, and whether any is bad enough to be a fault. */
export function pathVerdict(path: PathQuality, quality: CallQuality = callQuality(path)): { verdict: PathVerdict; missed: (keyof PathQuality | 'mos')[] } {
  const poor: (keyof PathQuality | 'mos')[] = [];
  if (path.rttMs > PATH_LIMITS.rttMs) poor.push('rttMs');
  if (path.lossPercent > PATH_LIMITS.lossPercent) poor.push('lossPercent');
  if (path.jitterMs > PATH_LIMITS.jitterMs) poor.push('jitterMs');
  if (quality.mos < PATH_LIMITS.mos) poor.push('mos');
  if (poor.length > 0) return { verdict: 'poor', missed: poor };
  const missed = (Object.keys(PATH_TARGETS) as (keyof PathQuality)[]).filter((key) => path[key] >= PATH_TARGETS[key]);
  return { verdict: missed.length > 0 ? 'below-targets' : 'meets-targets', missed };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
