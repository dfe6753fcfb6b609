import { describe, expect, it } from 'vitest';
import { systemSnapshot, usbDevice } from '../test/helpers/device-factory.js';
import { FAULT_CODES, SELF_HELP } from '../protocol/index.js';
import { useLocale } from './i18n/i18n.js';
import { faultText, printable, renderDevices, renderFaults, renderSources, renderSystem } from './render.js';

describe('rendering for the terminal', () => {
  it('escapes control characters from device strings instead of printing them', () => {
    expect(printable('Cam\u001b[2J\u0007era')).toBe('Cam\\x1b[2J\\x07era');
    const table = renderDevices([usbDevice({ name: 'Evil\u001b]0;pwned\u0007' })]);
    // eslint-disable-next-line no-control-regex -- asserting that no control character survived
    expect(table).not.toMatch(/\u001b|\u0007/);
    expect(table).toContain('Evil\\x1b]0;pwned\\x07');
  });

  it('escapes bidirectional controls and line and paragraph separators too, so text cannot reorder itself or forge a line', () => {
    expect(printable('fix\u202egnp.exe\u2028ok: approved\u2029\u2066x\u200f')).toBe('fix\\u202egnp.exe\\u2028ok: approved\\u2029\\u2066x\\u200f');
    const table = renderDevices([usbDevice({ name: 'Cam\u202eera\u2028FAULT none' })]);
    expect(table).not.toMatch(/[\u202e\u2028]/);
  });

  it('shows kind, name, USB ids, connection and status in columns', () => {
    const lines = renderDevices([usbDevice()]).split('\n');
    expect(lines[0]).toMatch(/^KIND\s+NAME\s+ID\s+CONNECTED\s+STATUS$/);
    expect(lines[1]).toMatch(/^camera\s+Logitech Webcam C930e\s+046d:0843\s+usb 1-1\.4\s+ok$/);
  });
});

describe('renderSystem', () => {
  it('summarises the PC in one line, escaping the host name', () => {
    const line = renderSystem(systemSnapshot({ os: { platform: 'linux', distro: 'Ubuntu', release: '24.04', arch: 'x64', hostname: 'room\u001b101' }, cpuTemperatureC: 61.4 }));
    expect(line).toBe('PC room\\x1b101: Ubuntu 24.04 x64, 4 cores at 12% load, 3.7 of 7.5 GiB memory free, disk / 40% used, CPU 61°C');
  });

  it('lists faults with what the IT teacher can try, once per code', () => {
    const condition = { code: 'MICROPHONE_MUTED' as const, deviceId: 'usb:mic', source: 'media' as const, message: 'Jabra Speak 510: microphone capture is muted', messageKey: 'faults.MICROPHONE_MUTED' as const, params: { device: 'Jabra Speak 510' }, evidence: {} };
    const text = renderFaults([condition, { ...condition, deviceId: 'usb:mic2' }]);
    expect(text.split('\n')[0]).toMatch(/^SEVERITY\s+CATEGORY\s+CODE\s+MESSAGE$/);
    expect(text).toContain('What you can try for MICROPHONE_MUTED:\n  1. Press the mute button');
    expect(text.match(/What you can try/g)).toHaveLength(1);
  });

  it('has self-help steps for every fault code', () => {
    for (const code of Object.keys(FAULT_CODES)) expect(SELF_HELP[code as keyof typeof SELF_HELP].length).toBeGreaterThan(0);
  });

  it('gives the reasons the agent writes itself in the reader\'s language: a source unavailable, a device not answering', () => {
    const sources = [
      { source: 'usb' as const, state: 'unavailable' as const, reason: 'no USB bus: /sys/bus/usb is absent, so ...', reasonKey: 'sourceReason.noUsbBus', reasonParams: { path: '/sys/bus/usb' }, durationMs: 1 },
      { source: 'pjlink' as const, state: 'error' as const, errorCode: 'PROBE_TIMEOUT', reason: 'pjlink probe did not finish within 8000 ms', reasonKey: 'sourceReason.timeout', reasonParams: { seconds: 8 }, durationMs: 8000 },
    ];
    const fault = { messageKey: 'faults.VISCA_NOT_ANSWERING' as const, params: { device: 'Front PTZ', place: '192.0.2.60:52381 (sony-ip)', reason: 'no reply from VISCA camera 1 within 1000 ms', reasonCode: 'VISCA_TIMEOUT' } };
    try {
      useLocale('zh-CN');
      const zh = renderSources(sources);
      expect(zh).toContain('usb      不可用: 没有 USB 总线：/sys/bus/usb 不存在');
      expect(zh).toContain('pjlink   出错: 未在 8 秒内完成 [PROBE_TIMEOUT]');
      const text = faultText(fault);
      expect(text).toContain('摄像机没有及时应答');
      expect(text).not.toContain('no reply from VISCA camera');
    } finally {
      useLocale('en');
    }
    // In English the detail (addresses, timings) is kept as the agent wrote it.
    expect(faultText(fault)).toContain('no reply from VISCA camera 1 within 1000 ms');
    expect(renderSources(sources)).toContain('usb      unavailable: no USB bus: /sys/bus/usb is absent');
  });
});

describe('touch panels in the device table', () => {
  const panel = usbDevice({ kind: 'touch-panel', name: 'ILITEK-TP', touch: { touchClass: 'touch-screen', maxContacts: 10, driver: 'hid-multitouch', inputDevices: ['input17'], touchInput: true } });
  const dead = usbDevice({ kind: 'touch-panel', name: 'ILITEK-TP', touch: { touchClass: 'unknown', driver: null, inputDevices: [] } });

  it('says what the descriptor claims, which driver took it and which input devices it made, in the reader\'s language', () => {
    useLocale('en');
    expect(renderDevices([panel])).toContain('ok (touch screen, 10 contacts; driver hid-multitouch; input input17)');
    expect(renderDevices([dead])).toContain('ok (descriptor unread; no driver; no input device)');
    useLocale('zh-CN');
    expect(renderDevices([panel])).toContain('(触摸屏，10 点触控; 驱动 hid-multitouch; 输入设备 input17)');
    useLocale('en');
  });

  it('says whether touches arrive: how many since the last cycle and when the last one was', () => {
    const touched = usbDevice({ kind: 'touch-panel', name: 'ILITEK-TP', touch: { touchClass: 'touch-screen', maxContacts: 10, driver: 'hid-multitouch', inputDevices: ['input17'], activity: { touches: 14, sinceAt: '2026-12-07T01:00:00.000Z', lastTouchAt: '2026-12-07T01:00:41.000Z' } } });
    const untouched = usbDevice({ kind: 'touch-panel', name: 'ILITEK-TP', touch: { touchClass: 'touch-screen', driver: 'hid-multitouch', inputDevices: ['input17'], activity: { touches: 0, sinceAt: '2026-12-07T01:00:00.000Z', lastTouchAt: null } } });
    expect(renderDevices([touched])).toContain('input input17; 14 touch(es) since the last cycle, the last at 01:00:41 UTC)');
    expect(renderDevices([untouched])).toContain('input input17; no touch since the agent started)');
  });
});
