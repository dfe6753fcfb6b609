import { describe, expect, it } from 'vitest';
import { isAvcareError, jsonBytes, REPORT_LIMITS, REPORT_MAX_BYTES, reportMessageSchema, type Device } from '../protocol/index.js';
import { okSources, projector, systemSnapshot, usbDevice } from '../test/helpers/device-factory.js';
import type { DaemonState } from './daemon-state.js';
import { reportMessage } from './events.js';
import type { FaultCondition } from './faults/fault-condition.js';
import { healthSummary } from './health-summary.js';
import { buildReportBundle, fitReport, reportInput, type BundleFacts } from './report-bundle.js';

const IDENTITY = { agentId: 'pc-01', schoolId: 'sch-1', roomId: 'r101' };
const AT = new Date('2026-11-23T08:00:00Z');

const daemon: DaemonState = {
  pid: 4242,
  startedAt: '2026-11-23T07:00:00.000Z',
  updatedAt: '2026-11-23T07:59:50.000Z',
  currentUntil: '2026-11-23T08:01:10.000Z',
  publishing: true,
  recentHealth: Array.from({ length: 10 }, (_, i) => healthSummary(systemSnapshot({ cpu: { cores: 4, loadPercent: i } }), new Date(AT.getTime() - (10 - i) * 30_000))),
  openFaults: [{ code: 'PJLINK_LAMP_WARNING', deviceId: 'pjlink:10.0.0.5:4352', message: 'lamp warning', firstSeenAt: '2026-11-23T07:10:00.000Z' }],
};

const detected: FaultCondition[] = [{ code: 'DISK_NEARLY_FULL', deviceId: null, source: 'system', message: '/ is 95 % full', messageKey: 'faults.DISK_NEARLY_FULL', params: { disks: '/ 95%', threshold: 90 }, evidence: {} }];

function facts(overrides: Partial<BundleFacts> = {}): BundleFacts {
  return {
    cycle: { at: AT, devices: [usbDevice(), projector()], sources: okSources('usb'), system: systemSnapshot({ cpu: { cores: 4, loadPercent: 77 } }) },
    detected,
    daemon,
    daemonRunning: true,
    logLines: ['2026-11-23T07:59:00.000Z WARN pjlink: auth failed with classroom42', 'INFO agent: connecting to mqtt://agent:broker-pw@cloud:1883'],
    knownSecrets: ['classroom42', 'broker-pw'],
    ...overrides,
  };
}

describe('buildReportBundle', () => {
  it('carries the devices, sources and system of the report\'s own cycle', () => {
    const bundle = buildReportBundle(facts());
    expect(bundle.inventory.map((device) => device.kind)).toEqual(['camera', 'projector']);
    expect(bundle.sources).toEqual(okSources('usb'));
    expect(bundle.system?.cpu.loadPercent).toBe(77);
    expect(bundle.truncated).toBe(false);
  });

  it('takes the running daemon\'s faults and its health history plus the sample just taken, ten at most', () => {
    const bundle = buildReportBundle(facts());
    expect(bundle.faultsFrom).toBe('daemon');
    expect(bundle.openFaults).toEqual(daemon.openFaults);
    expect(bundle.recentHealth).toHaveLength(REPORT_LIMITS.recentHealth);
    expect(bundle.recentHealth.map((summary) => summary.cpuLoadPercent)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 77]);
  });

  it('without a running daemon, gives the faults this cycle shows and still the health history the last daemon left', () => {
    const bundle = buildReportBundle(facts({ daemonRunning: false }));
    expect(bundle.faultsFrom).toBe('probe');
    expect(bundle.openFaults).toEqual([{ code: 'DISK_NEARLY_FULL', deviceId: null, message: '/ is 95 % full' }]);
    expect(bundle.recentHealth.at(-1)?.cpuLoadPercent).toBe(77);
    const fresh = buildReportBundle(facts({ daemon: undefined, daemonRunning: false, cycle: { at: AT, devices: [], sources: [] } }));
    expect(fresh.recentHealth).toEqual([]);
    expect(fresh.system).toBeNull();
    expect(fresh.inventory).toEqual([]);
  });

  it('removes secrets from the log excerpt and from every other string of the bundle', () => {
    const leaky = projector({ name: 'projector classroom42' });
    const bundle = buildReportBundle(facts({ cycle: { at: AT, devices: [leaky], sources: [] } }));
    expect(bundle.logExcerpt).toEqual(['2026-11-23T07:59:00.000Z WARN pjlink: auth failed with [redacted]', 'INFO agent: connecting to mqtt://[redacted]@cloud:1883']);
    expect(bundle.inventory[0]?.name).toBe('projector [redacted]');
    expect(JSON.stringify(bundle)).not.toMatch(/classroom42|broker-pw/);
  });

  it('keeps the last 50 log lines and puts the device the person named first', () => {
    const bundle = buildReportBundle(facts({ logLines: Array.from({ length: 80 }, (_, i) => `line ${i}`), deviceId: projector().id }));
    expect(bundle.logExcerpt).toHaveLength(REPORT_LIMITS.logLines);
    expect(bundle.logExcerpt[0]).toBe('line 30');
    expect(bundle.inventory[0]?.id).toBe(projector().id);
  });
});

describe('fitReport', () => {
  const input = { text: 'the projector flickers', reporter: 'teacher-li' };

  it('leaves a normal report alone', () => {
    const message = reportMessage(IDENTITY, input, buildReportBundle(facts()), AT);
    expect(fitReport(message)).toBe(message);
    expect(reportMessageSchema.safeParse(message).success).toBe(true);
  });

  it('shrinks an oversized bundle under the limit, least valuable evidence first, and marks it truncated', () => {
    const bulky = (i: number): Device => usbDevice({ id: `usb:${i}`, name: '投'.repeat(256), make: '投'.repeat(256), model: '投'.repeat(256), serialNumber: '投'.repeat(256) });
    const devices = Array.from({ length: REPORT_LIMITS.inventoryDevices }, (_, i) => bulky(i));
    const bundle = buildReportBundle(facts({ cycle: { at: AT, devices, sources: [] }, logLines: Array.from({ length: 50 }, () => 'l'.repeat(400)), deviceId: 'usb:127' }));
    const message = reportMessage(IDENTITY, { ...input, deviceId: 'usb:127' }, bundle, AT);
    expect(jsonBytes(message)).toBeGreaterThan(REPORT_MAX_BYTES);
    const fitted = fitReport(message);
    expect(jsonBytes({ ...fitted, seq: Number.MAX_SAFE_INTEGER })).toBeLessThanOrEqual(REPORT_MAX_BYTES);
    expect(fitted.bundle.truncated).toBe(true);
    expect(fitted.bundle.inventory[0]?.id).toBe('usb:127');
    expect(fitted.bundle.inventory.length).toBeGreaterThan(0);
    expect(fitted.text).toBe(input.text);
    expect(reportMessageSchema.safeParse(fitted).success).toBe(true);
  });
});

describe('reportInput', () => {
  it('joins the words, keeps line breaks and Chinese text, drops terminal escapes, and trims', () => {
    expect(reportInput(['  投影仪', '闪烁\r\n第二行\u001b[31m  '], { defaultReporter: 'li' })).toEqual({ text: '投影仪 闪烁\n第二行 [31m', reporter: 'li' });
    // Unicode line and paragraph separators become plain line breaks; every bidi control and zero-width mark goes.
    expect(reportInput(['camera\u2028black', '\u2067\u200fscreen\u2069\u2029ok'], {}).text).toBe('camera\nblack screen\nok');
  });

  it('prefers --by over the OS user and takes --device as given', () => {
    expect(reportInput(['no sound'], { by: ' 李老师 ', device: 'usb:046d:0843:1-1.4', defaultReporter: 'root' })).toEqual({ text: 'no sound', reporter: '李老师', deviceId: 'usb:046d:0843:1-1.4' });
  });

  it.each([
    ['an empty text', [''], {}, /empty/],
    ['a text of spaces', ['   ', '\t'], {}, /empty/],
    ['a text too long', ['x'.repeat(REPORT_LIMITS.textChars + 1)], {}, /2001 characters long; at most 2000/],
    ['an empty --by', ['ok'], { by: '  ' }, /--by/],
    ['a --by too long', ['ok'], { by: 'x'.repeat(129) }, /--by/],
    ['an empty --device', ['ok'], { device: '' }, /--device/],
  ])('refuses %s with REPORT_INVALID naming the problem', (_name, words, options, message) => {
    try {
      reportInput(words, options);
      expect.unreachable('accepted');
    } catch (error) {
      expect(isAvcareError(error) && error.code).toBe('REPORT_INVALID');
      expect((error as Error).message).toMatch(message);
    }
  });
});
