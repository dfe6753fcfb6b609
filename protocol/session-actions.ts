/**
 * The actions a remote session may hold, by name: what the engineer asks for and the school
 * grants (their arguments are in remote-session.ts, which must name exactly these).
 */
export const SESSION_ACTION_NAMES = [
  'reprobe',
  'inventory',
  'health-snapshot',
  'fetch-logs',
  'network-test',
  'avsync-test',
  'usb-reset',
  'visca-power-cycle',
  'restart-agent',
  'diagnostic-bundle',
  'set-config',
  'camera-snapshot',
  'audio-clip',
  'vr-status',
  'vr-app-restart',
  'vr-crash-log',
] as const;
export type SessionAction = (typeof SESSION_ACTION_NAMES)[number];

/** Actions that see or hear the classroom: granted only by name, and shown to the school as such. */
export const PRIVACY_ACTIONS: readonly SessionAction[] = ['camera-snapshot', 'audio-clip'];

export function isPrivacyAction(action: SessionAction): boolean {
  return PRIVACY_ACTIONS.includes(action);
}
