import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../protocol/index.js';
import { loadAgentConfig, parseAgentConfig } from './config.js';

describe('agent config', () => {
  it('works with no file at all: every field has a default', () => {
    const config = parseAgentConfig({});
    expect(config.probeIntervalSeconds).toBe(60);
    expect(config.hysteresis).toEqual({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    expect(config.thresholds.diskUsePercent).toBe(90);
    expect(config.remediation).toEqual({ enabled: true, cooldownMinutes: 30, budgetSeconds: 10 });
    expect(config.agentId).toMatch(/^[A-Za-z0-9]/);
  });

  it('fills nested defaults for serial ports and projectors', () => {
    const config = parseAgentConfig({ serialPorts: [{ path: '/dev/ttyUSB0' }], pjlink: [{ host: '10.1.1.5' }] });
    expect(config.serialPorts[0]).toMatchObject({ protocol: 'visca', baudRate: 9600, address: 1 });
    expect(config.pjlink[0]).toMatchObject({ port: 4352, lampLifeHours: 3000 });
  });

  it('names every invalid field and its problem', () => {
    try {
      parseAgentConfig({ probeIntervalSeconds: 1, pjlink: [{ host: 'x', port: 70000 }], roomId: 'room 101', colour: 'blue' });
      expect.unreachable();
    } catch (error) {
      expect(isAvcareError(error) && error.code).toBe('CONFIG_INVALID');
      const message = (error as Error).message;
      expect(message).toContain('probeIntervalSeconds');
      expect(message).toContain('pjlink.0.port');
      expect(message).toContain('roomId');
      expect(message).toContain('colour');
    }
  });

  it('refuses a VR app named as people say it rather than by its package name, and a headset address that is empty, saying where', () => {
    const bad = (): unknown => parseAgentConfig({ vr: { apps: ['com.school.chemlab', 'Chem Lab'] }, vrHeadsets: [{ host: '' }] });
    expect(bad).toThrow(/vr\.apps\.1: must be an Android package name such as com\.school\.vrlab/);
    expect(bad).toThrow(/vrHeadsets\.0\.host: Too small/);
    expect(parseAgentConfig({ vrHeadsets: [{ host: '192.0.2.80', name: 'cart A #3' }] }).vrHeadsets[0]).toEqual({ host: '192.0.2.80', port: 5555, name: 'cart A #3' });
  });

  it('reports a file that is not JSON with its path, and a missing explicit file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-config-'));
    const file = join(dir, 'agent.json');
    writeFileSync(file, '{ "roomId": ');
    expect(() => loadAgentConfig(file)).toThrow(new RegExp(`${file} is not valid JSON`));
    expect(() => loadAgentConfig(join(dir, 'absent.json'))).toThrow(/cannot read/);
    writeFileSync(file, JSON.stringify({ roomId: 'r101', schoolId: 'sch-7' }));
    expect(loadAgentConfig(file)).toMatchObject({ roomId: 'r101', schoolId: 'sch-7' });
  });
});
