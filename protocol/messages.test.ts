import { describe, expect, it } from 'vitest';
import { FAULT_CODES, faultCodeSchema } from './fault-codes.js';
import { agentMessageSchema } from './messages.js';

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
