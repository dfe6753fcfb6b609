import { describe, expect, it } from 'vitest';
import { FAULT_CODES, faultCodeSchema } from './fault-codes.js';
import { agentMessageSchema, jsonBytes, REPORT_LIMITS, REPORT_MAX_BYTES, reportMessageSchema } from './messages.js';

const header = { schemaVersion: 1, eventId: '7d5c0b1e-8f0a-4b5e-9a51-3f1f1d8c2a10', agentId: 'pc-01', schoolId: 'sch-001', roomId: 'r101', at: '2026-11-23T08:00:00.000Z' };

describe('agent message schemas', () => {
  it('accepts a fault with its category and severity', () => {
    const parsed = agentMessageSchema.parse({ ...header, type: 'fault', state: 'raised', code: 'VISCA_POWER_ERROR', category: 'hardware', severity: 'urgent', deviceId: 'serial:/dev/ttyUSB0', message: 'power error', evidence: { raw: '90500 4ff' }, firstSeenAt: header.at });
    expect(parsed.type).toBe('fault');
  });

  it('rejects an unknown schema version, an unknown fault code and a bad event id, naming the field', () => {
    const bad = agentMessageSchema.safeParse({ ...header, schemaVersion: 2, type: 'status', state: 'online', agentVersion: '1' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['schemaVersion']);
    expect(faultCodeSchema.safeParse('NOT_A_CODE').success).toBe(false);
    expect(agentMessageSchema.safeParse({ ...header, eventId: 'x', type: 'status', state: 'online', agentVersion: '1' }).error?.issues[0]?.path).toEqual(['eventId']);
  });

  it('gives every fault code a category and severity from the domain lists', () => {
    const categories = new Set(['software', 'compatibility', 'operation', 'hardware', 'backend', 'network']);
    for (const [code, info] of Object.entries(FAULT_CODES)) {
      expect(categories.has(info.category), code).toBe(true);
      expect(['general', 'urgent', 'critical']).toContain(info.severity);
    }
    expect(FAULT_CODES.PJLINK_LAMP_ERROR.severity).toBe('urgent');
    expect(FAULT_CODES.PJLINK_FILTER_WARNING.severity).toBe('general');
  });
});

describe('report message schema', () => {
  const bundle = {
    inventory: [{ id: 'pjlink:10.0.0.5:4352', kind: 'projector', name: 'Room 101 projector', connection: { type: 'network', host: '10.0.0.5', port: 4352, protocol: 'pjlink' }, status: 'degraded' }],
    sources: [{ source: 'usb', state: 'unavailable', reason: 'no /sys/bus/usb', durationMs: 3 }],
    system: null,
    recentHealth: [{ at: header.at, cpuLoadPercent: 12, memoryAvailableBytes: 4e9, memoryTotalBytes: 8e9, cpuTemperatureC: null, fullestDiskUsePercent: 40 }],
    openFaults: [{ code: 'PJLINK_LAMP_WARNING', deviceId: 'pjlink:10.0.0.5:4352', message: 'lamp warning', firstSeenAt: header.at }],
    faultsFrom: 'daemon',
    logExcerpt: ['2026-11-23T07:59:00.000Z WARN pjlink: lamp warning'],
    truncated: false,
  };
  const report = { ...header, seq: 41, type: 'report', text: 'the projector flickers', reporter: 'teacher-li', deviceId: 'pjlink:10.0.0.5:4352', bundle };

  it('round-trips a report through JSON with its bundle, as the collector parses it', () => {
    const parsed = agentMessageSchema.parse(JSON.parse(JSON.stringify(report)));
    expect(parsed).toEqual(report);
  });

  it('trims the text and reporter, and refuses them empty or too long, naming the field', () => {
    expect(reportMessageSchema.parse({ ...report, text: '  \n投影仪闪烁  ', reporter: ' 李老师 ' })).toMatchObject({ text: '投影仪闪烁', reporter: '李老师' });
    for (const [field, value] of [
      ['text', '   '],
      ['text', 'x'.repeat(REPORT_LIMITS.textChars + 1)],
      ['reporter', ''],
      ['reporter', 'x'.repeat(REPORT_LIMITS.reporterChars + 1)],
      ['deviceId', ''],
    ] as const) {
      const result = agentMessageSchema.safeParse({ ...report, [field]: value });
      expect(result.success, `${field}=${value.slice(0, 10)}`).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([field]);
    }
    expect(reportMessageSchema.parse({ ...report, text: 'x'.repeat(REPORT_LIMITS.textChars) }).text).toHaveLength(REPORT_LIMITS.textChars);
  });

  it('caps every list of the bundle and refuses an invalid fault code or fault source', () => {
    const over = (list: string, items: unknown[]) => agentMessageSchema.safeParse({ ...report, bundle: { ...bundle, [list]: items } });
    expect(over('logExcerpt', Array.from({ length: REPORT_LIMITS.logLines + 1 }, () => 'line')).error?.issues[0]?.path).toEqual(['bundle', 'logExcerpt']);
    expect(over('logExcerpt', ['x'.repeat(REPORT_LIMITS.logLineChars + 1)]).success).toBe(false);
    expect(over('recentHealth', Array.from({ length: REPORT_LIMITS.recentHealth + 1 }, () => bundle.recentHealth[0])).success).toBe(false);
    expect(over('inventory', Array.from({ length: REPORT_LIMITS.inventoryDevices + 1 }, () => bundle.inventory[0])).success).toBe(false);
    expect(over('openFaults', [{ code: 'NOT_A_CODE', deviceId: null, message: 'x' }]).success).toBe(false);
    expect(agentMessageSchema.safeParse({ ...report, bundle: { ...bundle, faultsFrom: 'guess' } }).success).toBe(false);
    const { inventory: _missing, ...noInventory } = bundle;
    expect(agentMessageSchema.safeParse({ ...report, bundle: noInventory }).error?.issues[0]?.path).toEqual(['bundle', 'inventory']);
  });

  it('refuses a report over REPORT_MAX_BYTES even when every list is within its cap', () => {
    const device = bundle.inventory[0];
    const bulky = { ...device, name: '投'.repeat(256), make: '投'.repeat(256), model: '投'.repeat(256), serialNumber: '投'.repeat(256) };
    const big = { ...report, bundle: { ...bundle, inventory: Array.from({ length: REPORT_LIMITS.inventoryDevices }, (_, i) => ({ ...bulky, id: `dev-${i}` })) } };
    expect(jsonBytes(big)).toBeGreaterThan(REPORT_MAX_BYTES);
    const result = agentMessageSchema.safeParse(big);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join()).toMatch(/over 245760 bytes/);
    // The limit leaves the collector's default 256 KiB payload limit room for the seq and framing.
    expect(REPORT_MAX_BYTES).toBeLessThan(256 * 1024);
  });
});
