/** What `avcare-agent test` prints for a person, in their language: progress lines and the summary. */
import type { AvsyncResult, NetworkResult, DirectionResult } from '../../protocol/measure-result.js';
import type { Translator } from '../i18n/i18n.js';
import { printable } from '../render.js';
import type { TestProgress } from './test-ipc.js';
import type { TestOutcome } from './test-runner.js';

export function renderProgress(progress: TestProgress, test: 'network' | 'avsync', tr: Translator, expectedSeconds: number): string | undefined {
  const { t } = tr;
  switch (progress.phase) {
    case 'starting':
      return t('test.progress.starting', { test, seconds: expectedSeconds });
    case 'requesting':
      return t('test.progress.requesting');
    case 'connecting':
      return t('test.progress.connecting');
    case 'throttling':
      return t('test.progress.throttling');
    case 'room':
      return t('test.progress.room');
    case 'finishing':
      return t('test.progress.finishing');
    case 'measuring':
      if (test === 'avsync') return progress.elapsedMs === 0 ? t('test.progress.measuringSync') : undefined;
      return t('test.progress.measuring', {
        elapsed: Math.round((progress.elapsedMs ?? 0) / 1000),
        duration: Math.round((progress.durationMs ?? 0) / 1000),
        rtt: progress.rttMs === null || progress.rttMs === undefined ? '-' : `${progress.rttMs} ms`,
        kbps: progress.downKbps ?? 0,
      });
  }
}

export function renderOutcome(outcome: TestOutcome, test: 'network' | 'avsync', ranIn: 'daemon' | 'here', tr: Translator): string {
  const { t } = tr;
  if (outcome.status === 'killed') return t('test.killed', { test, seconds: Math.round(outcome.deadlineMs / 1000) });
  if (outcome.status === 'failed') return t('test.failed', { test, reason: printable(outcome.message) });
  const lines = outcome.result.test === 'network' ? renderNetwork(outcome.result, ranIn, tr) : renderAvsync(outcome.result, tr);
  const { usage } = outcome;
  lines.push('', t('test.usage', { cpu: (usage.cpuMs / 1000).toFixed(1), percent: usage.cpuPercent.toFixed(0), rss: Math.round(usage.maxRssBytes / 1_048_576) }));
  return lines.join('\n');
}

function renderNetwork(result: NetworkResult, ranIn: 'daemon' | 'here', tr: Translator): string[] {
  const { t } = tr;
  const direction = (label: string, value: DirectionResult | null): string =>
    value === null
      ? t('test.network.upMissing', { label })
      : t('test.network.direction', { label, loss: value.lossPercent.toFixed(1), jitter: value.jitterMs.toFixed(0), kbps: value.bitrateKbps, fps: value.framesPerSecond.toFixed(0), freezes: value.freezes, resolution: value.resolution ?? '-' });
  const missed = result.missed.join(', ');
  const verdict = result.verdict === 'meets-targets' ? t('test.network.meetsTargets') : result.verdict === 'below-targets' ? t('test.network.belowTargets', { missed }) : t('test.network.poor', { missed });
  return [
    t('test.network.title', { reflector: printable(result.reflectorId), seconds: Math.round(result.durationMs / 1000), where: t(`test.ranIn.${ranIn}`) }),
    result.rttMs === null ? t('test.network.rttNone') : t('test.network.rtt', { rtt: result.rttMs, samples: result.rttSamples, rtcp: result.rttRtcpMs === null ? '-' : `${result.rttRtcpMs} ms` }),
    direction(t('test.network.up'), result.up),
    direction(t('test.network.down'), result.down),
    ...throttleLines(result, tr),
    t('test.network.quality', { mos: result.quality.mos.toFixed(2), r: result.quality.r.toFixed(0), band: result.quality.band, latency: result.quality.oneWayLatencyMs }),
    verdict,
  ];
}

function throttleLines(result: NetworkResult, tr: Translator): string[] {
  const { t } = tr;
  const throttle = result.throttle;
  if (!throttle) return [];
  if (throttle.steps.length === 0) return [t('test.network.throttleNotRun', { reason: printable(throttle.note ?? '') })];
  const steps = throttle.steps.map((step) => `${step.goodputKbps}/${step.targetKbps}`).join(', ');
  const bulk = throttle.bulkKbps === null ? '-' : String(throttle.bulkKbps);
  return [throttle.throttled ? t('test.network.throttled', { cap: throttle.capKbps ?? throttle.mediaKbps, bulk, steps }) : t('test.network.notThrottled', { bulk, steps })];
}

function renderAvsync(result: AvsyncResult, tr: Translator): string[] {
  const { t } = tr;
  const { summary } = result;
  const signed = (value: number): string => `${value > 0 ? '+' : ''}${value}`;
  const verdicts = { imperceptible: 'test.avsync.imperceptible', detectable: 'test.avsync.detectable', unacceptable: 'test.avsync.unacceptable', 'not-enough-markers': 'test.avsync.notEnoughMarkers' } as const;
  return [
    t('test.avsync.title', { mode: result.mode, markers: summary.markers, sent: result.markersSent }),
    t('test.avsync.offset', { offset: signed(summary.offsetMs), spread: summary.spreadMs }),
    t('test.avsync.raw', { raw: signed(summary.rawOffsetMs), baseline: signed(summary.baselineMs) }),
    t(verdicts[summary.verdict]),
    ...roomLines(result, tr, signed),
  ];
}

function roomLines(result: AvsyncResult, tr: Translator, signed: (value: number) => string): string[] {
  const { t } = tr;
  const { room, pipeline } = result;
  if (room === undefined) return result.roomUnavailable.length > 0 ? [t('test.avsync.room', { reasons: printable(result.roomUnavailable.join('; ')) })] : [];
  return [
    t('test.avsync.roomUsed', { camera: printable(room.camera), microphone: printable(room.microphone), display: printable(room.display), flashes: room.flashesSeen, beeps: room.beepsHeard }),
    ...(result.roomUnavailable.length > 0 ? [t('test.avsync.roomProblems', { problems: printable(result.roomUnavailable.join('; ')) })] : []),
    ...(pipeline === undefined ? [] : [t('test.avsync.pipeline', { offset: signed(pipeline.offsetMs) })]),
  ];
}
