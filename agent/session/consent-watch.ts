/**
 * `avcare-agent consent watch`: runs in the teacher's desktop session (install.sh adds it to the
 * desktop's autostart, install-macos.sh to every login's LaunchAgents) and shows a desktop
 * notification for each new request to reach this PC,
 * so nobody has to poll `consent list`. It runs as the person at the desktop, so the notification
 * reaches their own session bus without the agent's service account touching it; it reads the
 * requests over the agent's control socket (group avcare) or, with no agent running, from its record.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { desktopNoticeFor, type DesktopNotice } from '../platform/desktop-notice.js';
import { currentPlatform } from '../platform/platform.js';
import { out } from '../i18n/i18n.js';
import { printable } from '../render.js';

export interface ConsentWatchOptions {
  /** The sessions as `consent list` reads them. */
  list(): Promise<Record<string, unknown>[]>;
  /** Show a desktop notification (the platform's: notify-send, Notification Center, a toast); false: print only. */
  notify: boolean;
  /** How to show it (tests); the platform's by default. */
  showNotice?: DesktopNotice;
  intervalMs?: number;
  /** Stop after the first round that found something new (tests). */
  once?: boolean;
  signal?: AbortSignal;
  write?: (line: string) => void;
}

function field(session: Record<string, unknown>, name: string): string {
  const value = session[name];
  return printable(typeof value === 'string' ? value : JSON.stringify(value) ?? '');
}

/** The notification for one pending request: who asks, why, for what, and how to answer. */
export function noticeFor(session: Record<string, unknown>): { title: string; body: string } {
  const { t } = out();
  const privacy = (session['privacyScopes'] as string[] | undefined) ?? [];
  const lines = [
    t('consent.engineer', { engineer: field(session, 'engineer'), team: session['team'] ? t('consent.team', { team: field(session, 'team') }) : '', reason: field(session, 'reason') }).trim(),
    t('consent.asks', { scopes: ((session['scopes'] as string[] | undefined) ?? []).join(', '), minutes: field(session, 'durationMinutes'), answerBy: field(session, 'answerBy') }).trim(),
    ...(privacy.length > 0 ? [t('consent.privacy', { scopes: privacy.join(', ') }).trim()] : []),
    (session['approvers'] === 'school-admin' ? t('consent.adminOnly') : t('consent.howToAnswer', { session: field(session, 'sessionId') })).trim(),
  ];
  return { title: t('consent.noticeTitle'), body: lines.join('\n') };
}

export async function watchConsent(options: ConsentWatchOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const told = new Set<string>();
  let warned = false;
  while (!options.signal?.aborted) {
    let fresh = 0;
    for (const session of await options.list().catch(() => [])) {
      const id = field(session, 'sessionId');
      if (session['state'] !== 'pending' || told.has(id)) continue;
      told.add(id);
      fresh += 1;
      const notice = noticeFor(session);
      write(`${id}\n${notice.body}`);
      if (options.notify) {
        const failed = await (options.showNotice ?? desktopNoticeFor(currentPlatform().id))(notice);
        if (failed !== undefined && !warned) {
          warned = true;
          write(out().t('consent.noticeFailed', { reason: printable(failed) }));
        }
      }
    }
    if (options.once && fresh > 0) return;
    await sleep(options.intervalMs ?? 5_000, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
  }
}
