import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from './rate-limited-log.js';

function capturingLogger(): { lines: Record<string, unknown>[]; logger: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { lines, logger };
}

describe('RateLimitedLog', () => {
  it('writes one line per key per interval and reports the suppressed count on the next line', () => {
    const { lines, logger } = capturingLogger();
    let now = 1_000;
    const log = new RateLimitedLog(logger, { intervalMs: 10_000, now: () => now });

    log.warn('bad-json', { reason: 'bad-json' }, 'message rejected');
    for (let i = 0; i < 5; i += 1) {
      now += 1_000;
      log.warn('bad-json', { reason: 'bad-json' }, 'message rejected');
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toHaveProperty('suppressed');

    now = 11_000;
    log.warn('bad-json', { reason: 'bad-json' }, 'message rejected');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ reason: 'bad-json', suppressed: 5, msg: 'message rejected', level: 40 });
  });

  it('limits each key on its own', () => {
    const { lines, logger } = capturingLogger();
    const log = new RateLimitedLog(logger, { now: () => 0 });
    log.warn('schema', {}, 'a');
    log.warn('oversize', {}, 'b');
    log.warn('schema', {}, 'c');
    log.error('database', {}, 'd');
    expect(lines.map((line) => line.msg)).toEqual(['a', 'b', 'd']);
  });

  it('starts counting again after a line was written', () => {
    const { lines, logger } = capturingLogger();
    let now = 0;
    const log = new RateLimitedLog(logger, { intervalMs: 100, now: () => now });
    log.info('k', {}, 'line');
    log.info('k', {}, 'line');
    now = 100;
    log.info('k', {}, 'line');
    now = 200;
    log.info('k', {}, 'line');
    expect(lines.map((line) => line.suppressed)).toEqual([undefined, 1, undefined]);
  });
});
