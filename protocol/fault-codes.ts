import { z } from 'zod';
import type { FaultCategory, Severity } from './severity.js';

export interface FaultCodeInfo {
  readonly category: FaultCategory;
  readonly severity: Severity;
  readonly title: string;
}

const pjlinkParts = ['fan', 'lamp', 'temperature', 'cover', 'filter', 'other'] as const;
export type PjlinkPart = (typeof pjlinkParts)[number];

/**
 * Stable fault codes: the cloud keys tickets and the knowledge base on them, so a code is never
 * renamed or reused. Default severities follow shared/domain.md: a fault that blocks part of
 * teaching is urgent; the cloud raises it further with the timetable and the room's state.
 */
export const FAULT_CODES = {
  DEVICE_MISSING: { category: 'hardware', severity: 'urgent', title: 'Expected device missing' },
  CAMERA_NO_VIDEO_NODE: { category: 'compatibility', severity: 'urgent', title: 'Camera on USB but no usable video node' },
  MICROPHONE_NO_CAPTURE: { category: 'compatibility', severity: 'urgent', title: 'Microphone present but no capture device' },
  MICROPHONE_MUTED: { category: 'operation', severity: 'general', title: 'Microphone capture is muted' },
  MICROPHONE_LEVEL_ZERO: { category: 'operation', severity: 'general', title: 'Recording level of the default microphone is zero' },
  VISCA_POWER_ERROR: { category: 'hardware', severity: 'urgent', title: 'Camera reports a power-circuit error' },
  VISCA_NOT_ANSWERING: { category: 'hardware', severity: 'urgent', title: 'Camera does not answer on its control port' },
  PJLINK_NOT_ANSWERING: { category: 'network', severity: 'urgent', title: 'Projector does not answer PJLink' },
  PJLINK_AUTH_FAILED: { category: 'operation', severity: 'general', title: 'PJLink password rejected' },
  PJLINK_REFUSED: { category: 'network', severity: 'general', title: 'Projector refuses PJLink connections' },
  PJLINK_BAD_REPLY: { category: 'compatibility', severity: 'general', title: 'Projector answers PJLink with something unexpected' },
  ...pjlinkStatusCodes(),
  LAMP_END_OF_LIFE: { category: 'hardware', severity: 'general', title: 'Projector lamp near end of life' },
  DISK_NEARLY_FULL: { category: 'software', severity: 'general', title: 'Disk nearly full' },
  CPU_SUSTAINED_HIGH: { category: 'software', severity: 'general', title: 'Sustained high CPU load' },
  NETWORK_RTT_HIGH: { category: 'network', severity: 'general', title: 'Round trip to the cloud too long for live classes' },
  NETWORK_LOSS_HIGH: { category: 'network', severity: 'urgent', title: 'Packet loss too high for live classes' },
  NETWORK_JITTER_HIGH: { category: 'network', severity: 'general', title: 'Jitter too high for live classes' },
  NETWORK_VIDEO_THROTTLED: { category: 'network', severity: 'urgent', title: 'Network policy limits video' },
  NETWORK_NO_MEDIA_PATH: { category: 'network', severity: 'urgent', title: 'No media path for live classes (UDP blocked)' },
  AV_SYNC_OUT_OF_TOLERANCE: { category: 'hardware', severity: 'general', title: 'Sound and picture out of sync' },
  TOUCH_NO_INPUT: { category: 'compatibility', severity: 'urgent', title: 'Touch panel on USB but no touch input' },
  DEVICE_UNSTABLE_CONNECTION: { category: 'hardware', severity: 'urgent', title: 'Device keeps disconnecting and coming back' },
  CAMERA_BLOCKED_BY_PRIVACY: { category: 'operation', severity: 'urgent', title: 'Privacy settings block the camera' },
  CAMERA_HELD_BY_APP: { category: 'operation', severity: 'general', title: 'A program has held the camera for hours' },
  MICROPHONE_BLOCKED_BY_PRIVACY: { category: 'operation', severity: 'urgent', title: 'Privacy settings block the microphone' },
  WINDOWS_DEVICE_DISABLED: { category: 'operation', severity: 'urgent', title: 'Device disabled in Windows Device Manager' },
  WINDOWS_DRIVER_MISSING: { category: 'compatibility', severity: 'urgent', title: 'Windows has no working driver for the device' },
  WINDOWS_DEVICE_NOT_STARTED: { category: 'hardware', severity: 'urgent', title: 'Windows could not start the device' },
  VR_ADB_NOT_AUTHORIZED: { category: 'operation', severity: 'general', title: 'VR headset has not allowed this PC to read it' },
  VR_BATTERY_LOW: { category: 'operation', severity: 'general', title: 'VR headset battery low' },
  VR_CONTROLLER_DISCONNECTED: { category: 'hardware', severity: 'general', title: 'VR controller not connected' },
  VR_CONTROLLER_UNSTABLE: { category: 'hardware', severity: 'general', title: 'VR controller keeps losing its link to the headset' },
  VR_CONTROLLER_BATTERY_LOW: { category: 'operation', severity: 'general', title: 'VR controller battery low' },
  VR_APP_CRASHED: { category: 'software', severity: 'urgent', title: 'Classroom VR app crashed or stopped responding' },
  VR_APP_MISSING: { category: 'software', severity: 'urgent', title: 'Classroom VR app not installed' },
  VR_APP_VERSION_MISMATCH: { category: 'software', severity: 'general', title: 'Classroom VR app on a different version than the rest of the class set' },
  VR_STORAGE_LOW: { category: 'software', severity: 'general', title: 'VR headset storage nearly full' },
  VR_OVERHEATING: { category: 'hardware', severity: 'urgent', title: 'VR headset overheating' },
} as const satisfies Record<string, FaultCodeInfo>;

function pjlinkStatusCodes(): Record<`PJLINK_${Uppercase<PjlinkPart>}_${'WARNING' | 'ERROR'}`, FaultCodeInfo> {
  const entries = pjlinkParts.flatMap((part) => [
    [pjlinkFaultCode(part, 'warning'), { category: 'hardware', severity: 'general', title: `Projector ${part} warning` }],
    [pjlinkFaultCode(part, 'error'), { category: 'hardware', severity: 'urgent', title: `Projector ${part} error` }],
  ]);
  return Object.fromEntries(entries) as Record<`PJLINK_${Uppercase<PjlinkPart>}_${'WARNING' | 'ERROR'}`, FaultCodeInfo>;
}

export function pjlinkFaultCode(part: PjlinkPart, level: 'warning' | 'error'): `PJLINK_${Uppercase<PjlinkPart>}_${'WARNING' | 'ERROR'}` {
  return `PJLINK_${part.toUpperCase() as Uppercase<PjlinkPart>}_${level.toUpperCase() as 'WARNING' | 'ERROR'}`;
}

export type FaultCode = keyof typeof FAULT_CODES;
export const faultCodeSchema = z.enum(Object.keys(FAULT_CODES) as [FaultCode, ...FaultCode[]]);

export function faultCodeInfo(code: FaultCode): FaultCodeInfo {
  return FAULT_CODES[code];
}
