/**
 * Windows' camera and microphone privacy switches, from the registry values behind them, as
 * `reg query ... /s` prints them or PowerShell's Get-ItemProperty lists them: the ConsentStore's
 * `Value` (Allow/Deny) for the device (HKLM), the user's apps (HKCU) and desktop apps (HKCU
 * ...\NonPackaged), and the AppPrivacy group policy (LetAppsAccessCamera = 2 forces deny).
 */
import type { MediaPrivacy, PrivacyScope } from '../../../protocol/index.js';

const CAPABILITIES = { webcam: 'camera', microphone: 'microphone' } as const;

function empty(): MediaPrivacy {
  const none = { policy: null, device: null, apps: null, desktopApps: null };
  return { camera: { ...none }, microphone: { ...none } };
}

/** Which switch a ConsentStore key is: device-wide, the user's apps, or desktop apps; null for one app's own subkey. */
function scopeOf(keyPath: string): { capability: 'camera' | 'microphone'; scope: PrivacyScope } | null {
  // HKEY_USERS\\<SID> is a person's HKCU, as a service (another account) sees it.
  const match = /^(HKEY_LOCAL_MACHINE|HKLM|HKEY_CURRENT_USER|HKCU|HKEY_USERS\\S-1-5-21-[\d-]+|HKU\\S-1-5-21-[\d-]+)\\.*\\ConsentStore\\(webcam|microphone)(\\NonPackaged)?$/i.exec(keyPath.trim());
  if (!match) return null;
  const capability = CAPABILITIES[(match[2] ?? '').toLowerCase() as keyof typeof CAPABILITIES];
  const machine = /^(HKEY_LOCAL_MACHINE|HKLM)$/i.test(match[1] ?? '');
  if (match[3]) return { capability, scope: 'desktopApps' };
  return { capability, scope: machine ? 'device' : 'apps' };
}

function allowOrDeny(value: string): 'allow' | 'deny' | null {
  const word = value.trim().toLowerCase();
  return word === 'allow' ? 'allow' : word === 'deny' ? 'deny' : null;
}

/** The switches the paste shows; null when it shows none of them. */
export function readPrivacySettings(text: string): MediaPrivacy | null {
  const privacy = empty();
  let found = false;
  let key = '';
  // A block is a key and its values: reg query prints the key first, Get-ItemProperty its PSPath last.
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const lines = block.split(/\r?\n/).map((line) => line.trim());
    const named = lines.map((line) => /^PSPath\s*:\s*\S*::(\S.*)$/.exec(line)?.[1] ?? (/^(HKEY_|HKLM\\|HKCU\\)/i.test(line) ? line : undefined)).find((path) => path !== undefined);
    if (named) key = named;
    for (const line of lines) {
      const value = /^(Value|LetAppsAccessCamera|LetAppsAccessMicrophone)\s*(?::\s*|\s+REG_\w+\s+)(\S+)$/.exec(line);
      if (!value) continue;
      if (value[1] === 'Value') {
        const where = scopeOf(key);
        const setting = allowOrDeny(value[2] ?? '');
        if (!where || !setting) continue;
        // Several people signed in: one who is denied is a class that cannot use it.
        if (privacy[where.capability][where.scope] !== 'deny') privacy[where.capability][where.scope] = setting;
        found = true;
      } else {
        // 0 user in control, 1 force allow, 2 force deny (Microsoft's AppPrivacy policy).
        const forced = Number(value[2]);
        const capability = value[1] === 'LetAppsAccessCamera' ? 'camera' : 'microphone';
        privacy[capability].policy = forced === 2 ? 'deny' : forced === 1 ? 'allow' : null;
        found = true;
      }
    }
  }
  return found ? privacy : null;
}

/** The switch that blocks the capability, the broadest first; null when none does. */
export function blockingScope(settings: MediaPrivacy['camera']): PrivacyScope | null {
  for (const scope of ['policy', 'device', 'apps', 'desktopApps'] as const) if (settings[scope] === 'deny') return scope;
  return null;
}
