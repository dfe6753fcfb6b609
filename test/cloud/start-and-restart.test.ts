/**
 * A cloud's start as the people waiting for it see it: /healthz says ok only once signing in
 * works (a script that waits for it and signs in at once must not fail), and a restart on the same
 * data that was not given the service configuration again keeps the one it had, and says so.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { startCloud } from '../../cloud/main.js';
import { describeCloud } from '../../cloud/cli/describe-cloud.js';
import { TEST_SCRYPT } from '../helpers/security.js';
import { freePort } from '../helpers/free-port.js';
import { CLOUD_CLI, operatorPasswordFile, postJson, runNodeEntry, TEST_OPERATOR_PASSWORD } from './cloud-process.js';

describe('starting the cloud', () => {
  it('answers /healthz ok only once the first operator can sign in', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(port), '--mqtt-port', '0', '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile(), '--no-reflector', '--no-test-schedule']);
    try {
      const seen: number[] = [];
      for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
        const status = await fetch(`${url}/healthz`).then((response) => response.status, () => 0);
        seen.push(status);
        if (status === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(seen.at(-1)).toBe(200);
      // At once, as a script that waited for /healthz would.
      const login = await postJson<{ token?: string }>(`${url}/api/auth/login`, { name: 'operator', password: TEST_OPERATOR_PASSWORD });
      expect(login.status, JSON.stringify(login.body)).toBe(200);
      // While it was starting, /healthz said so rather than ok.
      const early = seen.filter((status) => status !== 0 && status !== 200);
      expect(early.every((status) => status === 503)).toBe(true);
    } finally {
      cloud.kill();
    }
  });

  it('keeps the service configuration a restart was not given again, and says so', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'avcare-restart-'));
    const service = join(dataDir, '..', `service-${Date.now()}.json`);
    writeFileSync(service, JSON.stringify({ regions: [{ id: 'pudong', city: 'shanghai' }], teams: [{ id: 'east', regions: ['pudong'] }], schools: [{ id: 'sch-1', region: 'pudong' }, { id: 'sch-2', region: 'pudong' }] }));
    const options = { dataDir, host: '127.0.0.1', httpPort: 0, mqttPort: 0, reflector: { enabled: false }, testSchedule: { enabled: false }, log: silentLogger, scryptCost: TEST_SCRYPT };
    const first = await startCloud({ ...options, serviceConfig: service });
    expect(first.service.origin).toBe('given');
    expect(describeCloud(first)).toContain(`service   ${service} (1 teams, 2 schools, 1 regions); recorded in`);
    await first.stop();

    const again = await startCloud(options);
    try {
      expect(again.service).toMatchObject({ origin: 'recorded', source: service });
      // Every team's scope is still there: the engineers of east still serve both schools.
      expect([...(again.security.directory.schoolsOfTeam('east') ?? [])]).toEqual(['sch-1', 'sch-2']);
      expect(describeCloud(again)).toMatch(/service {3}no --service given: using \S+ as an earlier start recorded it on \S+ \(1 teams, 2 schools, 1 regions\); give --service FILE to change it/);
    } finally {
      await again.stop();
    }
  });
});
