/**
 * The cloud's schedule and room-ready checks arrive as `measure-ask` in the agent's inbox. The
 * agent keeps its own say: it may be configured to decline them all, it declines asks that come
 * sooner than its minimum interval (a misbehaving or hostile cloud cannot keep the PC busy), and
 * a test already running is never joined by another.
 */
import { isAvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import type { CloudSignal } from '../../protocol/measure-signal.js';
import type { AgentConfig } from '../config.js';
import type { MeasureService } from './measure-service.js';
import type { SignalLink } from './signal-link.js';

export function answerCloudAsks(options: { link: SignalLink; measure: Pick<MeasureService, 'run'>; config: AgentConfig; log: Logger; now?: () => number }): () => void {
  const { link, measure, config, log } = options;
  const now = options.now ?? Date.now;
  let lastStarted = Number.NEGATIVE_INFINITY;
  let running = false;
  const run = async (ask: Extract<CloudSignal, { type: 'measure-ask' }>): Promise<void> => {
    running = true;
    lastStarted = now();
    try {
      for (const test of ask.tests) {
        try {
          await measure.run(test, ask.reason);
        } catch (error) {
          // Busy (a person's test holds the lock) or the child could not start: the next ask tries again.
          log.warn({ test, reason: ask.reason, err: isAvcareError(error) ? error.message : error }, 'a test the cloud asked for did not run');
        }
      }
    } finally {
      running = false;
    }
  };
  return link.subscribe((message) => {
    if (message.type !== 'measure-ask') return;
    if (!config.measure.acceptCloudRequests) {
      log.info({ reason: message.reason }, 'declined a test the cloud asked for (measure.acceptCloudRequests is off)');
      return;
    }
    const minimumMs = config.measure.minMinutesBetweenRequested * 60_000;
    if (running || now() - lastStarted < minimumMs) {
      log.info({ reason: message.reason, running }, 'declined a test the cloud asked for: too soon after the last one');
      return;
    }
    log.info({ tests: message.tests, reason: message.reason, lessonAt: message.lessonAt }, 'running the tests the cloud asked for');
    void run(message);
  });
}
