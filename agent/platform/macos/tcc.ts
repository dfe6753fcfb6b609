/**
 * macOS's camera and microphone permissions: TCC's records of which program may use them, as
 * `sqlite3` prints a query of a TCC.db (list mode `service|client|value`, or `-json`). Only a
 * record that says "denied" matters here: the teacher once clicked "Don't Allow", and the class's
 * meeting program has shown a black picture since. macOS 11+ writes `auth_value` (0 denied,
 * 2 allowed, 3 limited), older ones `allowed` (0 or 1); 0 is "denied" in both.
 */
import type { MediaPrivacy } from '../../../protocol/index.js';

const SERVICES = { kTCCServiceCamera: 'camera', kTCCServiceMicrophone: 'microphone' } as const;

/** The query a support engineer asks for, and the agent runs, against each TCC.db. */
export const TCC_QUERY = "select service, client, auth_value from access where service in ('kTCCServiceCamera','kTCCServiceMicrophone')";

export function looksLikeTcc(text: string): boolean {
  return /\bkTCCService(Camera|Microphone)\b/.test(text);
}

function record(service: unknown, client: unknown, value: unknown): { capability: 'camera' | 'microphone'; client: string; denied: boolean } | null {
  if (typeof service !== 'string' || typeof client !== 'string' || client.trim() === '') return null;
  const capability = SERVICES[service as keyof typeof SERVICES];
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!capability || Number.isNaN(number)) return null;
  return { capability, client: client.trim().slice(0, 260), denied: number === 0 };
}

function rows(text: string): Array<ReturnType<typeof record>> {
  const found: Array<ReturnType<typeof record>> = [];
  // -json: one array per database queried, possibly several pasted one after another.
  for (const match of text.matchAll(/\[\s*\{[\s\S]*?\}\s*\]/g)) {
    try {
      const parsed = JSON.parse(match[0]) as unknown;
      if (Array.isArray(parsed)) for (const item of parsed) if (typeof item === 'object' && item !== null) found.push(record((item as Record<string, unknown>).service, (item as Record<string, unknown>).client, (item as Record<string, unknown>).auth_value ?? (item as Record<string, unknown>).allowed));
    } catch {
      // Not JSON after all: the list lines below still count.
    }
  }
  for (const line of text.split(/\r?\n/)) {
    const fields = /^\s*(kTCCService\w+)\|([^|]+)\|(\d+)\s*$/.exec(line);
    if (fields) found.push(record(fields[1], fields[2], fields[3]));
  }
  return found;
}

/** The denied programs per capability; null when the text holds no camera or microphone record. */
export function readTcc(text: string): MediaPrivacy | null {
  const found = rows(text).filter((row) => row !== null);
  if (found.length === 0) return null;
  const none = { policy: null, device: null, apps: null, desktopApps: null };
  const privacy: MediaPrivacy = { camera: { ...none }, microphone: { ...none } };
  for (const row of found) {
    if (!row.denied) continue;
    const denied = (privacy[row.capability].deniedApps ??= []);
    if (!denied.includes(row.client) && denied.length < 64) denied.push(row.client);
  }
  for (const capability of ['camera', 'microphone'] as const) privacy[capability].deniedApps ??= [];
  return privacy;
}
