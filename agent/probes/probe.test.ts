import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { parseAgentConfig } from '../config.js';
import { silentLogger } from '../../protocol/log.js';
import { runProbe, type Probe } from './probe.js';

const context = { config: parseAgentConfig({}), log: silentLogger };

describe('runProbe', () => {
  it('reports a probe whose output does not fit the protocol as failed, naming the field', async () => {
    const sloppy: Probe = { id: 'usb', run: () => Promise.resolve({ state: 'ok', devices: [{ id: '', kind: 'toaster' } as never] }) };
    const result = await runProbe(sloppy, context, 1000);
    expect(result.status).toMatchObject({ source: 'usb', state: 'error', errorCode: 'PROBE_FAILED' });
    expect(result.status.reason).toMatch(/devices\.0\.(id|kind)/);
    expect(result.findings.devices).toEqual([]);
  });

  it('aborts the probe\'s signal at the timeout so it can release its port', async () => {
    let aborted = false;
    const slow: Probe = {
      id: 'serial',
      run: (_context, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ state: 'ok', devices: [] });
          });
        }),
    };
    const result = await runProbe(slow, context, 50);
    expect(result.status).toMatchObject({ state: 'error', errorCode: 'PROBE_TIMEOUT' });
    expect(aborted).toBe(true);
  });

  it('passes the reason of an unavailable source through', async () => {
    const absent: Probe = { id: 'media', run: () => Promise.resolve({ state: 'unavailable', reason: 'no ALSA', devices: [] }) };
    expect((await runProbe(absent, context, 1000)).status).toMatchObject({ state: 'unavailable', reason: 'no ALSA' });
  });
});

describe('runProbe with a caller signal', () => {
  const waitsForAbort: Probe = {
    id: 'pjlink',
    run: (_context, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('gave up')))),
  };

  it('ends the probe when the caller aborts and reports the caller\'s reason', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new AvcareError('PROBE_TIMEOUT', 'remediation time used up')), 20);
    const result = await runProbe(waitsForAbort, context, 10_000, controller.signal);
    expect(result.status).toMatchObject({ state: 'error', errorCode: 'PROBE_TIMEOUT', reason: 'remediation time used up' });
  });

  it('does not wait at all when the caller has already aborted', async () => {
    const started = performance.now();
    const result = await runProbe(waitsForAbort, context, 10_000, AbortSignal.abort());
    expect(result.status).toMatchObject({ state: 'error', errorCode: 'PROBE_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
