import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseServiceConfig, serviceRecordFile } from './service-record.js';

const SERVICE = { regions: [{ id: 'pudong', city: 'shanghai' }], teams: [{ id: 'east', regions: ['pudong'] }], schools: [{ id: 'sch-1', region: 'pudong' }] };

describe('the service configuration across starts', () => {
  it('records what --service gave, and a later start without it keeps using the record (even when the file is gone)', () => {
    const data = mkdtempSync(join(tmpdir(), 'avcare-data-'));
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-service-')), 'service.json');
    writeFileSync(file, JSON.stringify(SERVICE));
    const given = chooseServiceConfig(file, data, () => new Date('2026-12-07T08:00:00Z'));
    expect(given).toMatchObject({ origin: 'given', source: file, recordedAt: '2026-12-07T08:00:00.000Z' });
    expect(given.config.teams.map((team) => team.id)).toEqual(['east']);
    rmSync(file);
    const later = chooseServiceConfig(undefined, data);
    expect(later).toMatchObject({ origin: 'recorded', source: file, recordedAt: '2026-12-07T08:00:00.000Z', recordFile: serviceRecordFile(data) });
    expect(later.config.schools.map((school) => school.id)).toEqual(['sch-1']);
  });

  it('runs without one on a fresh data folder, and says which file is damaged rather than dropping every team', () => {
    const data = mkdtempSync(join(tmpdir(), 'avcare-data-'));
    expect(chooseServiceConfig(undefined, data)).toMatchObject({ origin: 'none', config: { teams: [] } });
    writeFileSync(serviceRecordFile(data), '{"version":1,');
    expect(() => chooseServiceConfig(undefined, data)).toThrow(`${serviceRecordFile(data)} (the service configuration an earlier start recorded) is damaged`);
  });

  it('refuses a bad --service without touching the record an earlier start kept', () => {
    const data = mkdtempSync(join(tmpdir(), 'avcare-data-'));
    const good = join(data, 'good.json');
    writeFileSync(good, JSON.stringify(SERVICE));
    chooseServiceConfig(good, data);
    const before = readFileSync(serviceRecordFile(data), 'utf8');
    const bad = join(data, 'bad.json');
    writeFileSync(bad, JSON.stringify({ teams: [{ id: 'east', regions: 'pudong' }] }));
    expect(() => chooseServiceConfig(bad, data)).toThrow(/bad\.json is invalid: teams\.0\.regions/);
    expect(readFileSync(serviceRecordFile(data), 'utf8')).toBe(before);
  });
});
