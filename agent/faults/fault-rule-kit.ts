import type { Device, FaultCode, PjlinkInfo } from '../../protocol/index.js';
import type { MessageAt, ParamArgs } from '../../protocol/i18n/catalog-types.js';
import { english, type FaultMessageKey, type ParamValue } from '../i18n/i18n.js';
import type { en } from '../../protocol/i18n/messages-en.js';
import type { AgentConfig } from '../config.js';
import type { Expectation } from './expected-devices.js';
import type { CycleSnapshot, FaultCondition } from './fault-condition.js';
import type { ConnectionEvent } from './unstable-connection.js';

export interface RuleContext {
  config: AgentConfig;
  expectations: readonly Expectation[];
  /** The last PJLink answer each projector gave, to tell eco-standby silence from a dead projector. */
  lastPjlinkAnswer: ReadonlyMap<string, PjlinkInfo>;
  /** USB connects and disconnects the hotplug watch saw, oldest first; absent where nothing watches. */
  connectionEvents?: readonly ConnectionEvent[];
  /** VR controllers' links coming and going, keyed by headset and side (controller-links.ts). */
  controllerEvents?: readonly ConnectionEvent[];
}

/** A rule is a pure function from what a cycle saw to the faults it shows. */
export type FaultRule = (snapshot: CycleSnapshot, context: RuleContext) => FaultCondition[];

/** The message is kept as a key and parameters (any language, later) and rendered in English for the ticket. */
export function condition<Key extends FaultMessageKey>(
  code: FaultCode,
  device: Device | null,
  source: FaultCondition['source'],
  evidence: Record<string, unknown>,
  key: Key,
  ...params: ParamArgs<MessageAt<typeof en, Key>>
): FaultCondition {
  const values: Record<string, ParamValue> = params[0] ?? {};
  return { code, deviceId: device?.id ?? null, source, message: english.t(key, ...params), messageKey: key, params: values, evidence };
}

/** Only what identifies a device goes into evidence, so a fault stays small and readable. */
export function deviceEvidence(device: Device): Record<string, unknown> {
  const evidence: Record<string, unknown> = { id: device.id, kind: device.kind, name: device.name, connection: device.connection, status: device.status };
  if (device.make) evidence.make = device.make;
  if (device.model) evidence.model = device.model;
  if (device.serialNumber) evidence.serialNumber = device.serialNumber;
  if (device.usb) evidence.usb = { vendorId: device.usb.vendorId, productId: device.usb.productId, interfaces: device.usb.interfaces };
  return evidence;
}

