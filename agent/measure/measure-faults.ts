/**
 * Which faults a test's result shows: pure rules from a result to fault conditions, which go
 * through the same hysteresis and fault path as a probe's. Thresholds are Twilio's warnings
 * (PATH_LIMITS) and ITU-R BT.1359's acceptable window.
 */
import type { AvsyncResult, DirectionResult, NetworkResult } from '../../protocol/measure-result.js';
import { english } from '../i18n/i18n.js';
import type { FaultCondition } from '../faults/fault-condition.js';
import { BT1359 } from './av-markers.js';
import { PATH_LIMITS } from './e-model.js';

/** The figures a ticket needs, without the whole result. */
function networkEvidence(result: NetworkResult): Record<string, unknown> {
  return { reflectorId: result.reflectorId, sessionId: result.sessionId, rttMs: result.rttMs, up: result.up, down: result.down, quality: result.quality, verdict: result.verdict };
}

function worse(result: NetworkResult, pick: (direction: DirectionResult) => number): { value: number; direction: 'up' | 'down' } {
  const down = pick(result.down);
  const up = result.up ? pick(result.up) : Number.NEGATIVE_INFINITY;
  return up > down ? { value: up, direction: 'up' } : { value: down, direction: 'down' };
}

export function networkFaults(result: NetworkResult): FaultCondition[] {
  const faults: FaultCondition[] = [];
  const evidence = networkEvidence(result);
  if (result.rttMs !== null && result.rttMs > PATH_LIMITS.rttMs) {
    const params = { rtt: Math.round(result.rttMs), limit: PATH_LIMITS.rttMs };
    faults.push({ code: 'NETWORK_RTT_HIGH', deviceId: null, source: 'network', message: english.t('faults.NETWORK_RTT_HIGH', params), messageKey: 'faults.NETWORK_RTT_HIGH', params, evidence });
  }
  const loss = worse(result, (direction) => direction.lossPercent);
  if (loss.value > PATH_LIMITS.lossPercent) {
    const params = { loss: loss.value.toFixed(1), direction: loss.direction, limit: PATH_LIMITS.lossPercent };
    faults.push({ code: 'NETWORK_LOSS_HIGH', deviceId: null, source: 'network', message: english.t('faults.NETWORK_LOSS_HIGH', params), messageKey: 'faults.NETWORK_LOSS_HIGH', params, evidence });
  }
  const jitter = worse(result, (direction) => direction.jitterMs);
  if (jitter.value > PATH_LIMITS.jitterMs) {
    const params = { jitter: Math.round(jitter.value), direction: jitter.direction, limit: PATH_LIMITS.jitterMs };
    faults.push({ code: 'NETWORK_JITTER_HIGH', deviceId: null, source: 'network', message: english.t('faults.NETWORK_JITTER_HIGH', params), messageKey: 'faults.NETWORK_JITTER_HIGH', params, evidence });
  }
  const throttle = result.throttle;
  if (throttle?.throttled) {
    const params = { cap: Math.round(throttle.capKbps ?? throttle.mediaKbps), bulk: Math.round(throttle.bulkKbps ?? 0) };
    faults.push({ code: 'NETWORK_VIDEO_THROTTLED', deviceId: null, source: 'network', message: english.t('faults.NETWORK_VIDEO_THROTTLED', params), messageKey: 'faults.NETWORK_VIDEO_THROTTLED', params, evidence: { ...evidence, throttle } });
  }
  return faults;
}

/** ICE never connected: the school's network lets no media through to the reflector. */
export function noMediaPathFault(reflectorId: string, reason: string): FaultCondition {
  const params = { reflector: reflectorId, reason };
  return { code: 'NETWORK_NO_MEDIA_PATH', deviceId: null, source: 'network', message: english.t('faults.NETWORK_NO_MEDIA_PATH', params), messageKey: 'faults.NETWORK_NO_MEDIA_PATH', params, evidence: { reflectorId, reason } };
}

export function avsyncFaults(result: AvsyncResult): FaultCondition[] {
  const { summary } = result;
  if (summary.verdict !== 'unacceptable') return [];
  const lead = summary.offsetMs > 0 ? 'sound ahead of picture' : 'sound behind picture';
  const params = { offset: `${summary.offsetMs > 0 ? '+' : ''}${Math.round(summary.offsetMs)}`, lead };
  return [
    {
      code: 'AV_SYNC_OUT_OF_TOLERANCE',
      deviceId: null,
      source: 'avsync',
      message: english.t('faults.AV_SYNC_OUT_OF_TOLERANCE', params),
      messageKey: 'faults.AV_SYNC_OUT_OF_TOLERANCE',
      params,
      evidence: { mode: result.mode, summary, acceptable: BT1359.acceptable },
    },
  ];
}
