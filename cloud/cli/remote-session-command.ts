/**
 * `avcare-cloud session ...`: remote sessions from a terminal. The engineer requests, runs and
 * closes; the school admin approves, denies and revokes; both list, show and watch. Who acts is
 * the signed-in person (`avcare-cloud login`): the cloud records it, nobody types it.
 */
import { writeFileSync } from 'node:fs';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { AvcareError, untrustedText } from '../../protocol/index.js';
import { isPrivacyAction, SESSION_ACTIONS } from '../../protocol/remote-session.js';
import { asTyped } from '../../protocol/runnable-command.js';
import { callApi, printResult, streamApi, withApiOptions, type ApiFlags } from './cli-session.js';
import { renderResult } from './session-results.js';
import type { RemoteCommand, RemoteSession } from '../sessions/session-store.js';

interface Flags extends ApiFlags {
  json?: boolean;
}

type Shown = { session: RemoteSession; commands: RemoteCommand[] };

export function remoteSessionCommand(): Command {
  const command = new Command('session').description('remote diagnosis sessions: request, approve, run allowlisted actions, watch, close or revoke');
  const common = withApiOptions;
  const path = (id: string, tail = ''): string => `/api/sessions/${encodeURIComponent(id)}${tail}`;

  common(command.command('request'))
    .description('ask a school for a session on one classroom PC (engineers)')
    .requiredOption('--school <id>', 'the school')
    .requiredOption('--agent <id>', 'the agent (classroom PC)')
    .requiredOption('--reason <text>', 'why: shown to the school')
    .requiredOption('--scopes <actions>', `the actions wanted, comma-separated: ${SESSION_ACTIONS.join(', ')}`)
    .option('--minutes <n>', "how long once approved (default and maximum: the school's policy)", (value) => positiveInteger(value, '--minutes'))
    .action(async (flags: Flags & { school: string; agent: string; reason: string; scopes: string; minutes?: number }) => {
      const body = { schoolId: flags.school, agentId: flags.agent, reason: flags.reason, scopes: list(flags.scopes), ...(flags.minutes === undefined ? {} : { durationMinutes: flags.minutes }) };
      const { session } = await callApi<{ session: RemoteSession }>(flags, 'POST', '/api/sessions', body);
      printResult(flags, { session }, () => `${renderSession(session)}\n${asTyped(`waiting for the school to answer by ${session.answerBy}: \`avcare-cloud session show ${session.id}\``)}\n`);
    });

  common(command.command('list'))
    .description('sessions you can see, newest first')
    .option('--open', 'only pending and active ones')
    .addOption(new Option('--state <state>', 'only this state').choices(['pending', 'active', 'denied', 'timed-out', 'revoked', 'closed', 'expired']))
    .action(async (flags: Flags & { open?: boolean; state?: string }) => {
      const query = new URLSearchParams();
      if (flags.open) query.set('open', 'true');
      if (flags.state !== undefined) query.set('state', flags.state);
      const { sessions } = await callApi<{ sessions: RemoteSession[] }>(flags, 'GET', `/api/sessions?${query.toString()}`);
      printResult(flags, { sessions }, () => (sessions.length === 0 ? 'no sessions\n' : `${sessions.map(renderSession).join('\n\n')}\n`));
    });

  common(command.command('show'))
    .description('one session and each command with its result')
    .argument('<id>', 'session id')
    .action(async (id: string, flags: Flags) => {
      const shown = await callApi<Shown>(flags, 'GET', path(id));
      printResult(flags, shown, () => `${renderSession(shown.session)}\n${shown.commands.map(renderCommand).join('\n')}\n`);
    });

  for (const [name, description] of [
    ['approve', "approve a pending request for the school (school admins); camera snapshot and audio clip only with --grant naming them"],
    ['deny', 'refuse a pending request (school admins)'],
  ] as const) {
    const sub = common(command.command(name)).description(description).argument('<id>', 'session id');
    if (name === 'approve') sub.option('--grant <actions>', 'grant only these actions, comma-separated (default: every asked action but the privacy ones)');
    sub.action(async (id: string, flags: Flags & { grant?: string }) => {
      const before = name === 'approve' ? (await callApi<Shown>(flags, 'GET', path(id))).session : undefined;
      const { session } = await callApi<{ session: RemoteSession }>(flags, 'POST', path(id, `/${name}`), flags.grant === undefined ? {} : { grant: list(flags.grant) });
      printResult(flags, { session }, () => `${renderSession(session)}\n${before ? `${describeGrant(before.scopes, session.scopes)}\n` : ''}`);
    });
  }

  common(command.command('revoke'))
    .description('end a session for the school now (school admins); the PC is told and refuses anything after')
    .argument('<id>', 'session id')
    .option('--reason <text>', 'why: kept in the audit log')
    .action(async (id: string, flags: Flags & { reason?: string }) => {
      const { session } = await callApi<{ session: RemoteSession }>(flags, 'POST', path(id, '/revoke'), flags.reason === undefined ? {} : { reason: flags.reason });
      printResult(flags, { session }, () => `${renderSession(session)}\n`);
    });

  common(command.command('close'))
    .description('end your own session when done (engineers)')
    .argument('<id>', 'session id')
    .action(async (id: string, flags: Flags) => {
      const { session } = await callApi<{ session: RemoteSession }>(flags, 'POST', path(id, '/close'), {});
      printResult(flags, { session }, () => `${renderSession(session)}\n`);
    });

  common(command.command('run'))
    .description('run one allowlisted action in an active session and wait for its result (engineers)')
    .argument('<id>', 'session id')
    .addArgument(new Argument('<action>', `one of: ${SESSION_ACTIONS.join(', ')}`).choices(SESSION_ACTIONS))
    .option('--arg <name=value...>', 'an argument of the action, e.g. --arg camera=/dev/ttyUSB0 --arg lines=100')
    .option('--wait <seconds>', 'how long to wait for the result (0: do not wait)', (value) => positiveInteger(value, '--wait', true), 120)
    .option('--save <file>', 'camera-snapshot, audio-clip: write the JPEG or Opus file here')
    .action(async (id: string, action: string, flags: Flags & { arg?: string[]; wait: number; save?: string }) => {
      const body = { action, args: parseArgs(flags.arg ?? []), waitSeconds: Math.min(flags.wait, 300) };
      const { command: ran } = await callApi<{ command: RemoteCommand }>(flags, 'POST', path(id, '/commands'), body, { timeoutMs: (body.waitSeconds + 15) * 1000 });
      const saved = flags.save === undefined ? undefined : saveCapture(ran, flags.save);
      printResult(flags, { command: ran }, () => `${renderCommand(ran)}\n${saved ? `${saved}\n` : ''}`);
      if (ran.status === 'failed' || ran.status === 'refused' || ran.status === 'unanswered') process.exitCode = 1;
      if (ran.status === 'sent' && flags.wait > 0) process.exitCode = 3;
    });

  common(command.command('watch'))
    .description('follow a session live: each step as it happens, until you stop it (Ctrl-C) or the session ends')
    .argument('<id>', 'session id')
    .action(async (id: string, flags: Flags) => {
      await watch(flags, id);
    });

  return command;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function positiveInteger(value: string, flag: string, zero = false): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (zero ? 0 : 1)) throw new InvalidArgumentError(`${flag} must be a whole number${zero ? '' : ' above 0'}, not "${value}"`);
  return number;
}

/** name=value pairs: numbers and true/false as such, the rest as text (the cloud checks each against the action's schema). */
function parseArgs(pairs: readonly string[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new AvcareError('INVALID_ARGUMENT', `--arg ${pair}: write it as name=value`);
    const raw = pair.slice(at + 1);
    args[pair.slice(0, at)] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  return args;
}

function safe(text: string | null | undefined, max = 300): string {
  return text === null || text === undefined ? '-' : (untrustedText(text, max) ?? '');
}

export function renderSession(session: RemoteSession): string {
  const lines = [
    `${session.id}  ${session.state.toUpperCase()}  ${session.schoolId}/${session.roomId ?? '?'}/${session.agentId}`,
    `  engineer ${safe(session.engineer.name)}${session.engineer.teamId ? ` (team ${session.engineer.teamId})` : ''}: ${safe(session.reason, 500)}`,
    `  scopes ${session.scopes.join(', ')}; ${session.durationMinutes} min; approvers ${session.approvers}; requested ${session.requestedAt}`,
  ];
  const privacy = session.scopes.filter(isPrivacyAction);
  if (privacy.length > 0) lines.push(`  PRIVACY: ${privacy.join(', ')} would see or hear the classroom${session.state === 'pending' ? ' (granted only when named: approve --grant)' : ''}`);
  if (session.answeredBy) lines.push(`  answered by ${safe(session.answeredBy)} at ${session.answeredAt ?? '?'}${session.expiresAt ? `; ends ${session.expiresAt}` : ''}`);
  else if (session.state === 'pending') lines.push(`  answer by ${session.answerBy}`);
  if (session.endedAt) lines.push(`  ended ${session.endedAt} by ${safe(session.endedBy)}: ${safe(session.endReason, 500)}`);
  return lines.join('\n');
}

/** One command: when it was sent and (once answered) when it finished, how long it took, and its result for people. */
export function renderCommand(command: RemoteCommand): string {
  const args = Object.keys(command.args).length === 0 ? '' : ` ${safe(JSON.stringify(command.args), 300)}`;
  const finished = command.finishedAt === null ? (command.status === 'sent' ? '  (waiting for the PC)' : '') : `  finished ${command.finishedAt} (${seconds(command.issuedAt, command.finishedAt)})`;
  const head = `  ${command.action}${args}  ${command.status.toUpperCase()}  sent ${command.issuedAt}${finished}`;
  if (command.error) return `${head}\n    ${safe(command.error.code, 64)}: ${safe(command.error.message, 1000)}`;
  if (command.result === null || command.result === undefined) return head;
  return `${head}\n${renderResult(command.action, command.result)
    .map((line) => `    ${line}`)
    .join('\n')}`;
}

function seconds(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? `after ${(Math.max(0, ms) / 1000).toFixed(1)} s` : '?';
}

/** What an approval granted, and the privacy actions asked for that it left out (they are granted only by name). */
export function describeGrant(asked: readonly string[], granted: readonly string[]): string {
  const left = asked.filter((scope) => !granted.includes(scope));
  const privacyLeft = left.filter((scope) => isPrivacyAction(scope as Parameters<typeof isPrivacyAction>[0]));
  const otherLeft = left.filter((scope) => !privacyLeft.includes(scope));
  const lines = [`granted: ${granted.length > 0 ? granted.join(', ') : 'nothing'}`];
  if (privacyLeft.length > 0) lines.push(`not granted (privacy: they see or hear the classroom): ${privacyLeft.join(', ')}; name them with --grant to allow them`);
  if (otherLeft.length > 0) lines.push(`not granted: ${otherLeft.join(', ')}`);
  return lines.join('\n');
}

/** A snapshot or clip to a file (the engineer asked for it by --save); what was written, or why not. */
export function saveCapture(command: RemoteCommand, file: string): string {
  const result = command.result as { base64?: unknown; format?: unknown } | null;
  if (command.status !== 'ok' || typeof result?.base64 !== 'string') return `nothing saved to ${file}: the command gave no capture`;
  const bytes = Buffer.from(result.base64, 'base64');
  writeFileSync(file, bytes, { mode: 0o600 });
  return `saved ${bytes.length} bytes (${typeof result.format === 'string' ? safe(result.format, 20) : 'capture'}) to ${file}`;
}

/** Prints each step of the session as it happens; returns when the session ends or the stream closes. */
async function watch(flags: Flags, id: string): Promise<void> {
  await streamApi(flags, `/api/sessions/events?session=${encodeURIComponent(id)}`, (data) => {
    const event = JSON.parse(data) as { session?: RemoteSession; command?: RemoteCommand };
    process.stdout.write(flags.json ? `${data}\n` : `${event.session ? renderSession(event.session) : renderCommand(event.command as RemoteCommand)}\n`);
    return event.session !== undefined && !['pending', 'active'].includes(event.session.state);
  });
}
