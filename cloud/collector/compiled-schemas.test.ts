import { describe, expect, it } from 'vitest';
import { agentMessageSchema, type AgentMessage, type InventoryMessage, type MessageKind } from '../../protocol/index.js';
import { projector, usbDevice, viscaCamera } from '../../test/helpers/device-factory.js';
import { validMessage } from '../../test/collector/agent-traffic.js';
import { nextMessage, simulatedFleet } from '../../test/bench/telemetry.js';
import { compileMessageChecks } from './compiled-schemas.js';

const checks = compileMessageChecks();
const KINDS: MessageKind[] = ['inventory', 'health', 'fault', 'measurement', 'status'];

/** Messages as agents send them: every compiled kind, devices of every connection, optional parts present and absent. */
function goodMessages(): AgentMessage[] {
  const fleet = simulatedFleet(3);
  const base = KINDS.map((kind) => validMessage(kind, { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' }, 7));
  const inventory = validMessage('inventory') as InventoryMessage;
  const rich: AgentMessage = {
    ...inventory,
    type: 'inventory',
    devices: [
      usbDevice({ name: '罗技 摄像头 🎥', usb: { interfaces: [{ number: 0, class: 14, subClass: 1, protocol: 0 } as never] } }),
      projector(),
      viscaCamera(),
      { id: 'os:/dev/video0', kind: 'camera', name: 'Integrated', connection: { type: 'os', path: '/dev/video0' }, status: 'unknown' },
    ],
  };
  return [...base, rich, ...Array.from({ length: 40 }, (_, index) => nextMessage(fleet[index % 3] ?? { school: 's', room: 'r', agent: 'a', seq: 0 }, index).message)];
}

/** What a hostile or broken agent sends: each good message with one part changed in each way JSON allows. */
function mutations(message: AgentMessage): unknown[] {
  const out: unknown[] = [];
  const replacements: unknown[] = [null, '', 'x'.repeat(70), '🎥'.repeat(200), -1, 1.5, 2 ** 53, 0, true, [], {}, { extra: 1 }, '2026-13-45T00:00:00Z', 'usb'];
  const walk = (value: unknown, path: Array<string | number>): void => {
    for (const replacement of replacements) out.push(setAt(message, path, replacement));
    if (path.length > 0) out.push(setAt(message, path, undefined));
    if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, index]));
    else if (typeof value === 'object' && value !== null) {
      out.push(setAt(message, [...path, 'unexpected'], 'kept?'));
      for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
    }
  };
  walk(message, []);
  return out;
}

function setAt(message: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(message) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** Both verdicts on a fresh copy each (the compiled check strips in place). */
function verdicts(body: unknown): { zod: { ok: boolean; data?: unknown }; compiled: { ok: boolean; data?: unknown } } {
  const forZod = JSON.parse(JSON.stringify(body ?? null)) as unknown;
  const forCompiled = JSON.parse(JSON.stringify(body ?? null)) as unknown;
  const zod = agentMessageSchema.safeParse(forZod);
  const kind = typeof forCompiled === 'object' && forCompiled !== null && 'type' in forCompiled ? String(forCompiled.type) : '';
  const check = checks.get(kind as MessageKind);
  const ok = check ? check(forCompiled) : false;
  return { zod: { ok: zod.success, data: zod.data }, compiled: { ok, data: forCompiled } };
}

describe('compiled message checks against the zod schemas they are made from', () => {
  it('compiles every kind but the report', () => {
    expect([...checks.keys()].sort()).toEqual([...KINDS].sort());
  });

  it('accepts every good message and returns what zod returns (unknown keys stripped, defaults filled)', () => {
    for (const message of goodMessages()) {
      const withExtras = { ...structuredClone(message), addedByANewerAgent: { nested: true } };
      for (const body of [message, withExtras]) {
        const { zod, compiled } = verdicts(body);
        expect(zod.ok).toBe(true);
        expect(compiled.ok).toBe(true);
        expect(compiled.data).toEqual(zod.data);
      }
    }
  });

  it('gives the same verdict as zod on thousands of hostile variants, and the same message where both accept', () => {
    let cases = 0;
    let refused = 0;
    for (const message of goodMessages().slice(0, 6)) {
      for (const body of mutations(message)) {
        const { zod, compiled } = verdicts(body);
        cases += 1;
        if (zod.ok !== compiled.ok) throw new Error(`zod ${zod.ok ? 'accepts' : 'refuses'} and the compiled check ${compiled.ok ? 'accepts' : 'refuses'}: ${JSON.stringify(body).slice(0, 400)}`);
        if (zod.ok) expect(compiled.data).toEqual(zod.data);
        else refused += 1;
      }
    }
    // The corpus is real: most variants are refused, some (an optional part removed, a free-form value changed) accepted.
    expect(cases).toBeGreaterThan(2_000);
    expect(refused).toBeGreaterThan(cases / 2);
    expect(refused).toBeLessThan(cases);
  });

  it('counts string lengths as zod does, in code points: a device id of 300 emoji (600 UTF-16 units) is within its 320, 321 are not', () => {
    const inventory = validMessage('inventory') as InventoryMessage;
    const withId = (id: string) => ({ ...inventory, devices: [usbDevice({ id })] });
    for (const [id, ok] of [['🎥'.repeat(300), true], ['🎥'.repeat(321), false]] as const) {
      const { zod, compiled } = verdicts(withId(id));
      expect(zod.ok).toBe(ok);
      expect(compiled.ok).toBe(ok);
    }
  });
});
