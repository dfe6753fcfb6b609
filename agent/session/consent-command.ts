/**
 * `avcare-agent consent list|approve|deny|revoke|log`: the teacher or IT teacher at the PC sees
 * who asks for a remote session and why, answers it where the school's policy allows, ends it at
 * any time, and reads what was run on this PC. It goes through the running agent (which tells the
 * cloud); with no agent running, `list` and `log` read the PC's record and a revocation is written
 * to it directly (final: the agent refuses the session's commands when it starts).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { Argument, Command } from 'commander';
import { AvcareError } from '../../protocol/errors.js';
import { asTyped } from '../../protocol/runnable-command.js';
import { out } from '../i18n/i18n.js';
import { printable } from '../render.js';
import { PLATFORM_PATHS } from '../platform/platform-paths.js';
import type { ConsentOperation } from '../control/control-messages.js';
import type { LocatedState } from '../state-dir.js';

function personName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function consentCommand(locate: () => LocatedState): Command {
  return new Command('consent')
    .description('remote sessions on this PC: list who asks and why, approve, deny, revoke, read what was run, or watch for new requests')
    .addArgument(new Argument('<operation>', 'list | approve | deny | revoke | log | watch').choices(['list', 'approve', 'deny', 'revoke', 'log', 'watch']))
    .argument('[session]', 'the session id (approve, deny, revoke), as `consent list` shows it')
    .option('--reason <text>', 'why (revoke): kept in the logs')
    .option('--with-privacy', 'approve also the camera snapshot and audio clip the session asks for (off unless you say so)')
    .option('--json', 'print the sessions (or the log) as JSON')
    .option('--notify', 'watch: also show a desktop notification for each new request (notify-send, Notification Center, a Windows toast)')
    .action(async (operation: ConsentOperation | 'watch', sessionId: string | undefined, options: { reason?: string; json?: boolean; withPrivacy?: boolean; notify?: boolean }) => {
      const located = locate();
      const stateDir = located.dir;
      if (operation === 'watch') {
        const { watchConsent } = await import('./consent-watch.js');
        const { askDaemonAboutConsent } = await import('../control/control-client.js');
        const by = personName();
        // Windows: a teacher cannot open the administrators' pipe; the service posts its requests on a board.
        const board = PLATFORM_PATHS.noticeBoardFile;
        const list = board !== undefined && existsSync(board) ? () => readNoticeBoard(board, new Date()) : async () => ((await askDaemonAboutConsent(stateDir, { operation: 'list', by })) ?? (await withoutDaemon(located, 'list', undefined, by, undefined))).sessions;
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        await watchConsent({ list, notify: options.notify === true, signal: stop.signal, once: process.env['AVCARE_CONSENT_WATCH_ONCE'] === '1' });
        return;
      }
      if (operation !== 'list' && operation !== 'log' && sessionId === undefined) throw new AvcareError('INVALID_ARGUMENT', `consent ${operation} needs the session id: run \`avcare-agent consent list\``);
      const by = personName();
      // Loaded here, not with the daemon that builds this command: the session schemas cost memory.
      const { askDaemonAboutConsent } = await import('../control/control-client.js');
      const answer = await askDaemonAboutConsent(stateDir, { operation, by, ...(sessionId === undefined ? {} : { sessionId }), ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.withPrivacy ? { withPrivacy: true } : {}) });
      const enrolled = existsSync(join(stateDir, 'identity.json'));
      // Where the command looked goes to stderr, so --json output stays what it was.
      if (!answer && enrolled) process.stderr.write(`${out().t('consent.notRunning', { dir: stateDir, via: located.via === 'local-stack' ? out().t('consent.viaLocalStack') : '' })}\n`);
      const { sessions, log } = answer ?? (await withoutDaemon(located, operation, sessionId, by, options.reason));
      if (!answer && !enrolled && sessions.length === 0 && !options.json && operation !== 'log') {
        process.stdout.write(`${out().t('consent.notEnrolled', { dirs: located.searched.join(', ') })}\n`);
        return;
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(operation === 'log' ? log ?? [] : sessions, null, 2)}\n`);
        return;
      }
      // The command to answer with is written the way it runs here (`npx avcare-agent ...` in a clone).
      process.stdout.write(`${asTyped(operation === 'log' ? renderLog(log ?? []) : renderSessions(sessions))}\n`);
    });
}

async function withoutDaemon(located: LocatedState, operation: ConsentOperation, sessionId: string | undefined, by: string, reason: string | undefined): Promise<{ sessions: Record<string, unknown>[]; log?: Record<string, unknown>[] }> {
  const stateDir = located.dir;
  const { ConsentStore } = await import('./consent-store.js');
  const { sessionView } = await import('./consent-operation.js');
  const { SessionLog } = await import('./session-log.js');
  const store = ConsentStore.open(join(stateDir, 'sessions.json'));
  const now = new Date();
  if (operation === 'approve' || operation === 'deny') {
    const start = located.via === 'local-stack' ? 'npm start in the avcare folder' : 'sudo systemctl start avcare-agent';
    throw new AvcareError('SESSION_NOT_PENDING', `the agent is not running (its state: ${stateDir}): an answer must reach the cloud, so ${operation} needs the agent`, { stateDir }, { hint: `Start the agent (${start}), then answer again; to refuse at once without it, the school admin can deny in the cloud.` });
  }
  if (operation === 'revoke') store.revoke(sessionId ?? '', `pc:${by}`, reason ?? null, now);
  const sessions = store.list(now).map(sessionView);
  return operation === 'log' ? { sessions, log: new SessionLog(join(stateDir, 'session-log.jsonl')).read().map((entry) => ({ ...entry })) } : { sessions };
}

/** A field of a session or log entry as text (they are plain JSON values). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

function renderSessions(sessions: readonly Record<string, unknown>[]): string {
  const { t } = out();
  if (sessions.length === 0) return t('consent.none');
  return sessions
    .map((session) => {
      const privacy = (session['privacyScopes'] as string[] | undefined) ?? [];
      const team = session['team'] ? t('consent.team', { team: printable(text(session['team'])) }) : '';
      const lines = [
        `${text(session['sessionId'])}  ${text(session['state']).toUpperCase()}`,
        t('consent.engineer', { engineer: printable(text(session['engineer'])), team, reason: printable(text(session['reason'])) }),
        t('consent.asks', { scopes: ((session['scopes'] as string[] | undefined) ?? []).join(', '), minutes: text(session['durationMinutes']), answerBy: text(session['answerBy']) }),
        ...(privacy.length > 0 ? [t('consent.privacy', { scopes: privacy.join(', ') })] : []),
        ...(session['approvedBy'] ? [t('consent.approved', { by: printable(text(session['approvedBy'])), until: text(session['expiresAt']) })] : []),
        ...(session['closedBy'] ? [t('consent.closed', { by: printable(text(session['closedBy'])), reason: printable(text(session['closeReason'] ?? '')) })] : []),
        ...(session['state'] === 'pending' ? [session['approvers'] === 'school-admin' ? t('consent.adminOnly') : t('consent.howToAnswer', { session: text(session['sessionId']) })] : []),
      ];
      return lines.join('\n');
    })
    .join('\n\n');
}

function renderLog(entries: readonly Record<string, unknown>[]): string {
  if (entries.length === 0) return out().t('consent.logEmpty');
  return entries
    .map((entry) => [entry['at'], entry['event'], entry['action'] ?? '', entry['by'] ? `by ${text(entry['by'])}` : '', entry['outcome'] ?? '', entry['detail'] ?? ''].map((part) => printable(text(part))).filter((part) => part !== '').join('  '))
    .join('\n');
}

/** The requests the service posted (Windows), without those whose time to answer has passed. */
export async function readNoticeBoard(file: string, now: Date): Promise<Record<string, unknown>[]> {
  const posted = JSON.parse(await readFile(file, 'utf8')) as unknown;
  if (!Array.isArray(posted)) return [];
  return posted.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && typeof (entry as { answerBy?: unknown }).answerBy === 'string' && Date.parse((entry as { answerBy: string }).answerBy) > now.getTime());
}
