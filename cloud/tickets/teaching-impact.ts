import type { FaultCode } from '../../protocol/index.js';

/** What a classroom needs to teach through its AV: to be seen, to be heard, and to show. */
export type TeachingCapability = 'camera' | 'microphone' | 'display';

const CAPABILITY_BY_KIND: Readonly<Record<string, TeachingCapability>> = {
  camera: 'camera',
  microphone: 'microphone',
  speakerphone: 'microphone',
  headset: 'microphone',
  projector: 'display',
  display: 'display',
};

/** Faults that take a capability away whatever the device: the device is there but useless. */
const LOST_BY_CODE: Partial<Record<FaultCode, TeachingCapability>> = {
  CAMERA_NO_VIDEO_NODE: 'camera',
  VISCA_POWER_ERROR: 'camera',
  VISCA_NOT_ANSWERING: 'camera',
  MICROPHONE_NO_CAPTURE: 'microphone',
  MICROPHONE_MUTED: 'microphone',
  PJLINK_NOT_ANSWERING: 'display',
  PJLINK_LAMP_ERROR: 'display',
  PJLINK_FAN_ERROR: 'display',
  PJLINK_TEMPERATURE_ERROR: 'display',
  PJLINK_COVER_ERROR: 'display',
  PJLINK_OTHER_ERROR: 'display',
};

/**
 * The capability a fault takes from the room, or null when teaching goes on (a full disk, a lamp
 * nearing its end, a filter warning). DEVICE_MISSING depends on the kind that is missing, which
 * the agent puts in its evidence.
 */
export function capabilityLost(code: string, evidence: Record<string, unknown>): TeachingCapability | null {
  const byCode = LOST_BY_CODE[code as FaultCode];
  if (byCode) return byCode;
  if (code !== 'DEVICE_MISSING') return null;
  const expected = evidence.expected;
  const kind = typeof expected === 'object' && expected !== null && 'kind' in expected ? expected.kind : undefined;
  return typeof kind === 'string' ? (CAPABILITY_BY_KIND[kind] ?? null) : null;
}

/**
 * A room cannot teach when it can neither be seen nor heard (remote and recorded lessons need one
 * of them) or when nothing can be shown: shared/domain.md's "room cannot teach" is critical.
 */
export function roomCannotTeach(lost: ReadonlySet<TeachingCapability>): boolean {
  return (lost.has('camera') && lost.has('microphone')) || lost.has('display');
}
