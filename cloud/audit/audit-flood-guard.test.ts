import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { AuditFloodGuard } from './audit-flood-guard.js';
import type { AuditEvent } from './audit-log.js';

function recording(): { entries: AuditEvent[]; append: (event: AuditEvent) => Promise<unknown> } {
  const entries: AuditEvent[] = [];
  return { entries, append: (event) => Promise.resolve(entries.push(event)) };
}

const refusal = (index: number, actor = 'agent:sch-1:pc-01'): AuditEvent => ({ actor, action: 'broker.refused', outcome: 'denied', schoolId: 'sch-1', detail: { topic: `avcare/v1/sch-1/r1/pc-02/fault-${index}` } });

describe('audit flood guard', () => {
  it('writes the first few refusals of a key a minute and counts the rest into one entry', async () => {
    let now = 0;
    const audit = recording();
    const guard = new AuditFloodGuard(audit, { log: silentLogger, limits: { burst: 3, samples: 2 }, now: () => now });
    for (let index = 0; index < 1000; index += 1) {
      await guard.append('broker:agent:sch-1:pc-01', refusal(index));
      now += 10;
    }
    expect(audit.entries).toHaveLength(3);
    now = 60_000;
    await guard.flush(false);
    expect(audit.entries).toHaveLength(4);
    expect(audit.entries[3]).toMatchObject({ actor: 'agent:sch-1:pc-01', action: 'broker.refused', detail: { repeated: 997, from: '1970-01-01T00:00:00.000Z', to: '1970-01-01T00:00:09.990Z' } });
    expect((audit.entries[3]?.detail?.['samples'] as unknown[]).length).toBe(2);
    // The next minute starts afresh.
    await guard.append('broker:agent:sch-1:pc-01', refusal(1001));
    expect(audit.entries).toHaveLength(5);
  });

  it('keeps keys apart, so one flooding client does not hide another\'s refusals', async () => {
    const audit = recording();
    const guard = new AuditFloodGuard(audit, { log: silentLogger, limits: { burst: 2 }, now: () => 0 });
    for (let index = 0; index < 50; index += 1) await guard.append('a', refusal(index, 'agent:sch-1:pc-01'));
    await guard.append('b', refusal(0, 'agent:sch-1:pc-09'));
    expect(audit.entries.map((entry) => entry.actor)).toEqual(['agent:sch-1:pc-01', 'agent:sch-1:pc-01', 'agent:sch-1:pc-09']);
    await guard.stop();
    expect(audit.entries.at(-1)?.detail).toMatchObject({ repeated: 48 });
  });

  it('caps all keys together, and says in one entry what did not fit', async () => {
    let now = 0;
    const audit = recording();
    const guard = new AuditFloodGuard(audit, { log: silentLogger, limits: { burst: 1, maxPerWindow: 10 }, now: () => now });
    for (let key = 0; key < 100; key += 1) {
      await guard.append(`address:${key}`, { actor: 'anonymous', action: 'auth.login', outcome: 'failure', source: `198.51.100.${key}` });
      await guard.append(`address:${key}`, { actor: 'anonymous', action: 'auth.login', outcome: 'failure', source: `198.51.100.${key}` });
    }
    expect(audit.entries).toHaveLength(10);
    now = 60_000;
    await guard.flush(true);
    const suppressed = audit.entries.filter((entry) => entry.action === 'audit.suppressed');
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]?.detail).toMatchObject({ byAction: { 'auth.login': 190 } });
    // Every attempt is either its own entry or counted in one.
    const counted = audit.entries.reduce((sum, entry) => sum + (entry.action === 'audit.suppressed' ? 190 : typeof entry.detail?.['repeated'] === 'number' ? entry.detail['repeated'] : 1), 0);
    expect(counted).toBe(200);
  });

  it('passes a failure to write the caller\'s own entry on to the caller', async () => {
    const guard = new AuditFloodGuard({ append: () => Promise.reject(new Error('disk full')) }, { log: silentLogger });
    await expect(guard.append('k', refusal(0))).rejects.toThrow('disk full');
  });
});
