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

/** Windows FILETIME (100 ns since 1601) as a date. */
const EPOCH_DIFFERENCE_MS = 11_644_473_600_000n;
function fileTime(value: string): Date | null {
  try {
    const ticks = BigInt(value);
    if (ticks <= 0n) return null;
    const date = new Date(Number(ticks / 10_000n - EPOCH_DIFFERENCE_MS));
    return Number.isNaN(date.getTime()) ? null : date;
  } catch {
    return null;
  }
}

/**
 * One app's usage subkey (ConsentStore\webcam\NonPackaged\C:#Program Files#...#app.exe, or a
 * packaged app's family name) that started using the capability and has not stopped: in use now.
 */
function inUse(keyPath: string, lines: readonly string[]): { capability: 'camera' | 'microphone'; app: string; since: string } | null {
  const match = /\\ConsentStore\\(webcam|microphone)\\(?:NonPackaged\\)?([^\\]+)$/i.exec(keyPath.trim());
  if (!match?.[2] || /^NonPackaged$/i.test(match[2])) return null;
  const qword = (name: string): string | undefined => lines.map((line) => new RegExp(`^${name}\\s*(?::\\s*|\\s+REG_QWORD\\s+)(0x[0-9a-f]+|\\d+)$`, 'i').exec(line)?.[1]).find((value) => value !== undefined);
  const start = qword('LastUsedTimeStart');
  const stop = qword('LastUsedTimeStop');
  const since = start ? fileTime(start) : null;
  if (!since || stop === undefined || BigInt(stop) !== 0n) return null;
  // A desktop app's key is its path with "#" for "\": the program's file name is what a teacher recognises.
  const app = match[2].split('#').at(-1) ?? match[2];
  return { capability: CAPABILITIES[(match[1] ?? '').toLowerCase() as keyof typeof CAPABILITIES], app: app.slice(0, 260), since: since.toISOString() };
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
    const use = inUse(key, lines);
    if (use) {
      const list = (privacy[use.capability].inUseBy ??= []);
      if (list.length < 16 && !list.some((entry) => entry.app === use.app)) list.push({ app: use.app, since: use.since });
      found = true;
    }
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
