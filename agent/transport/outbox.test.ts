import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentMessageSchema, healthMessageSchema, parseTopic, type AgentMessage } from '../../protocol/index.js';
import { fault, health, inventory, measurement, report } from '../../test/transport/agent-messages.js';
import { FAULT_OVERFLOW_RATIO, Outbox, outboxFile } from './outbox.js';

const opened: Outbox[] = [];

function openOutbox(path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-'))), maxEvents = 1000): Outbox {
  const outbox = new Outbox({ path, maxEvents });
  opened.push(outbox);
  return outbox;
}

function kinds(outbox: Outbox): string[] {
  return outbox.next(100_000).map((entry) => `${entry.kind}:${entry.seq}`);
}

function payload(outbox: Outbox, seq: number): AgentMessage {
  const entry = outbox.next(1, seq - 1)[0];
  if (entry?.seq !== seq) throw new Error(`seq ${seq} is not in the outbox`);
  return agentMessageSchema.parse(JSON.parse(entry.payload));
}

afterEach(() => {
  for (const outbox of opened.splice(0)) outbox.close();
});

describe('Outbox', () => {
  it('numbers events from 1 and hands them back in order with their topic, payload and retain flag', () => {
    const outbox = openOutbox();
    const stored = [outbox.enqueue(inventory(), { retain: true }), outbox.enqueue(fault(), { retain: false }), outbox.enqueue(measurement(), { retain: false })];
    expect(stored.map((message) => message.seq)).toEqual([1, 2, 3]);
    const entries = outbox.next(10);
    expect(entries.map((entry) => [entry.seq, entry.kind, entry.retain])).toEqual([
      [1, 'inventory', true],
      [2, 'fault', false],
      [3, 'measurement', false],
    ]);
    expect(parseTopic(entries[0]?.topic ?? '')).toEqual({ school: 'sch-1', room: 'r101', agent: 'pc-01', kind: 'inventory' });
    for (const [index, entry] of entries.entries()) expect(JSON.parse(entry.payload)).toEqual(stored[index]);
    expect(outbox.next(1, 1).map((entry) => entry.seq)).toEqual([2]);
  });

  it('deletes only acknowledged events', () => {
    const outbox = openOutbox();
    for (let i = 0; i < 5; i++) outbox.enqueue(health(), { retain: false });
    outbox.ack(2);
    outbox.ackMany([4, 5]);
    expect(outbox.next(10).map((entry) => entry.seq)).toEqual([1, 3]);
    expect(outbox.stats().pending).toBe(2);
  });

  it('never reuses a sequence number, even after every event was acknowledged and the file reopened', () => {
    const path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-')));
    const first = openOutbox(path);
    for (let i = 0; i < 3; i++) first.enqueue(health(), { retain: false });
    first.ackMany([1, 2, 3]);
    first.close();
    const second = openOutbox(path);
    expect(second.next(10)).toEqual([]);
    expect(second.enqueue(fault(), { retain: false }).seq).toBe(4);
  });

  it('keeps every enqueued event when the process dies without closing (a second instance reads them in order)', () => {
    const path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-')));
    // Not closed and not acknowledged: as if the process had died here.
    const crashed = new Outbox({ path, maxEvents: 1000 });
    const ids = Array.from({ length: 50 }, (_, i) => crashed.enqueue(i % 10 === 0 ? fault() : health(i), { retain: false }).eventId);
    const reopened = openOutbox(path);
    const entries = reopened.next(1000);
    expect(entries.map((entry) => entry.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(entries.map((entry) => (JSON.parse(entry.payload) as AgentMessage).eventId)).toEqual(ids);
    expect(reopened.enqueue(health(), { retain: false }).seq).toBe(51);
    crashed.close();
  });

  it('reports pending events and zero drops in a health sample, which still parses', () => {
    const outbox = openOutbox();
    outbox.enqueue(fault(), { retain: false });
    const sample = outbox.enqueue(health(), { retain: false });
    expect(healthMessageSchema.parse(sample).outbox).toEqual({ pending: 1, droppedHealth: 0, droppedOther: 0, droppedFaults: 0 });
    expect(payload(outbox, 2)).toEqual(sample);
  });

  it('says whether an event is still unsent', () => {
    const outbox = openOutbox();
    const stored = outbox.enqueue(report(), { retain: false });
    expect(outbox.contains(stored.seq ?? 0)).toBe(true);
    outbox.ack(stored.seq ?? 0);
    expect(outbox.contains(stored.seq ?? 0)).toBe(false);
  });

  it('waits for another process holding the write lock instead of failing (the daemon while a report is filed)', async () => {
    const path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-')));
    openOutbox(path).enqueue(health(), { retain: false });
    // better-sqlite3 is synchronous: only another process can hold the lock while this one waits.
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
      db.exec('COMMIT');
    `], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const started = Date.now();
    const stored = openOutbox(path).enqueue(report(), { retain: false });
    expect(Date.now() - started).toBeGreaterThan(300);
    expect(stored.seq).toBe(2);
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(holder.exitCode).toBe(0);
  });

  describe('when full', () => {
    it('thins the oldest health samples first and keeps faults, the latest inventory and measurements', () => {
      const outbox = openOutbox(undefined, 100);
      outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(inventory(), { retain: true });
      outbox.enqueue(measurement(), { retain: false });
      for (let i = 0; i < 97; i++) outbox.enqueue(health(), { retain: false });
      expect(outbox.stats().pending).toBe(100);
      outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(fault(), { retain: false });
      const entries = kinds(outbox);
      expect(entries).toHaveLength(100);
      expect(entries.slice(0, 4)).toEqual(['fault:1', 'inventory:2', 'measurement:3', 'health:6']);
      expect(entries.slice(-2)).toEqual(['fault:101', 'fault:102']);
      expect(outbox.stats()).toEqual({ pending: 100, droppedHealth: 2, droppedOther: 0, droppedFaults: 0 });
    });

    it('reports the drops in the next health sample once, then starts counting again', () => {
      const outbox = openOutbox(undefined, 100);
      for (let i = 0; i < 100; i++) outbox.enqueue(health(), { retain: false });
      for (let i = 0; i < 3; i++) outbox.enqueue(fault(), { retain: false });
      const report = outbox.enqueue(health(), { retain: false });
      // The report's own slot cost one more health sample: 3 for the faults plus 1.
      expect(report.type === 'health' && report.outbox).toEqual({ pending: 99, droppedHealth: 4, droppedOther: 0, droppedFaults: 0 });
      expect(payload(outbox, report.seq ?? 0)).toEqual(report);
      expect(outbox.stats()).toMatchObject({ droppedHealth: 0, droppedOther: 0, droppedFaults: 0 });
      const nextReport = outbox.enqueue(health(), { retain: false });
      expect(nextReport.type === 'health' && nextReport.outbox).toMatchObject({ droppedHealth: 1 });
    });

    it('keeps the drop counts across a restart until a health sample reports them', () => {
      const path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-')));
      const first = openOutbox(path, 100);
      for (let i = 0; i < 102; i++) first.enqueue(measurement(i), { retain: false });
      first.close();
      const second = openOutbox(path, 100);
      expect(second.stats()).toEqual({ pending: 100, droppedHealth: 0, droppedOther: 2, droppedFaults: 0 });
      const report = second.enqueue(health(), { retain: false });
      expect(report.type === 'health' && report.outbox).toEqual({ pending: 99, droppedHealth: 0, droppedOther: 3, droppedFaults: 0 });
    });

    it('then drops measurements and superseded inventories, never the latest inventory', () => {
      const outbox = openOutbox(undefined, 100);
      outbox.enqueue(inventory(), { retain: true });
      outbox.enqueue(measurement(), { retain: false });
      outbox.enqueue(inventory(), { retain: true });
      for (let i = 0; i < 97; i++) outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(fault(), { retain: false });
      // Inventory 1 and the measurement made room; the third fault goes over the bound instead of dropping the latest inventory.
      expect(kinds(outbox).slice(0, 2)).toEqual(['inventory:3', 'fault:4']);
      expect(outbox.stats()).toEqual({ pending: 101, droppedHealth: 0, droppedOther: 2, droppedFaults: 0 });
      const latest = outbox.enqueue(inventory(), { retain: true });
      expect(kinds(outbox).filter((entry) => entry.startsWith('inventory'))).toEqual([`inventory:${latest.seq}`]);
      expect(outbox.stats()).toMatchObject({ pending: 101, droppedOther: 3 });
    });

    it('lets faults exceed the bound up to the hard cap, then drops the oldest fault and counts it', () => {
      const maxEvents = 100;
      const hardCap = maxEvents + Math.ceil(maxEvents * FAULT_OVERFLOW_RATIO);
      const outbox = openOutbox(undefined, maxEvents);
      for (let i = 0; i < hardCap; i++) outbox.enqueue(fault(), { retain: false });
      expect(outbox.stats()).toMatchObject({ pending: hardCap, droppedFaults: 0 });
      outbox.enqueue(fault(), { retain: false });
      outbox.enqueue(fault(), { retain: false });
      expect(outbox.stats()).toMatchObject({ pending: hardCap, droppedFaults: 2 });
      expect(kinds(outbox)[0]).toBe('fault:3');
      // A health sample cannot displace a fault: it is dropped itself, and counted.
      outbox.enqueue(health(), { retain: false });
      expect(outbox.stats()).toMatchObject({ pending: hardCap, droppedHealth: 1, droppedFaults: 2 });
    });

    it('never thins a teacher\'s report: health samples give way, and a report may use the fault overflow', () => {
      const maxEvents = 100;
      const outbox = openOutbox(undefined, maxEvents);
      const first = outbox.enqueue(report('first'), { retain: false });
      for (let i = 0; i < maxEvents; i++) outbox.enqueue(i % 2 ? fault() : health(), { retain: false });
      expect(kinds(outbox)).toContain(`report:${first.seq}`);
      for (let i = 0; i < maxEvents; i++) outbox.enqueue(fault(), { retain: false });
      const late = outbox.enqueue(report('late'), { retain: false });
      expect(kinds(outbox)).toEqual(expect.arrayContaining([`report:${first.seq}`, `report:${late.seq}`]));
      expect(outbox.stats().droppedOther).toBe(0);
    });

    it('stays within its bound however many events arrive, and reports every drop', () => {
      const outbox = openOutbox(undefined, 100);
      let reported = 0;
      for (let i = 0; i < 1200; i++) {
        const stored = outbox.enqueue(i % 50 === 0 ? inventory() : i % 7 === 0 ? measurement() : health(), { retain: false });
        if (stored.type === 'health' && stored.outbox) reported += stored.outbox.droppedHealth + stored.outbox.droppedOther + stored.outbox.droppedFaults;
      }
      const { pending, droppedHealth, droppedOther, droppedFaults } = outbox.stats();
      expect(pending).toBe(100);
      expect(reported + droppedHealth + droppedOther + droppedFaults).toBe(1100);
    });
  });
});
