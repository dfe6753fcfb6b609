import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usbDevice } from '../../test/helpers/device-factory.js';
import type { AgentSink } from '../agent-sink.js';
import { fault, health, inventory } from '../../test/transport/agent-messages.js';
import { Outbox, outboxFile } from './outbox.js';
import { OutboxSink } from './outbox-sink.js';

const NO_CHANGE = { attached: [], detached: [], changed: [] };
let outbox: Outbox;

function sink(): { sink: AgentSink; wakes: () => number } {
  outbox = new Outbox({ path: outboxFile(mkdtempSync(join(tmpdir(), 'avcare-sink-'))), maxEvents: 1000 });
  let wakes = 0;
  return { sink: new OutboxSink({ outbox, onEnqueued: () => (wakes += 1) }), wakes: () => wakes };
}

afterEach(() => outbox.close());

describe('OutboxSink', () => {
  it('enqueues faults and health samples as they come and wakes the transport for each', () => {
    const { sink: events, wakes } = sink();
    events.fault(fault());
    events.health(health());
    events.fault(fault('cleared'));
    expect(outbox.next(10).map((entry) => [entry.kind, entry.retain])).toEqual([
      ['fault', false],
      ['health', false],
      ['fault', false],
    ]);
    expect(wakes()).toBe(3);
  });

  it('enqueues the first inventory, then only when a device comes, goes or changes status; retained', () => {
    const { sink: events } = sink();
    const camera = usbDevice();
    const speaker = usbDevice({ id: 'usb:0b0e:0422:1-1.5', kind: 'speakerphone' });
    events.inventory(inventory([camera]), NO_CHANGE);
    events.inventory(inventory([camera]), NO_CHANGE);
    events.inventory(inventory([speaker, camera]), NO_CHANGE);
    events.inventory(inventory([camera, speaker]), NO_CHANGE);
    events.inventory(inventory([camera, { ...speaker, status: 'faulty' }]), NO_CHANGE);
    events.inventory(inventory([camera]), NO_CHANGE);
    const stored = outbox.next(10);
    expect(stored.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
    expect(stored.every((entry) => entry.kind === 'inventory' && entry.retain)).toBe(true);
  });
});
