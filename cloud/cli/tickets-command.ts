import { Command, Option } from 'commander';
import { untrustedText } from '../../protocol/index.js';
import { callApi, printResult, withApiOptions, type ApiFlags } from './cli-session.js';
import type { SlaTimers } from '../tickets/sla.js';
import type { Knowledge } from '../tickets/ticket-engine.js';
import type { Ticket, TicketHistoryEntry } from '../tickets/ticket-store.js';

interface CommonFlags extends ApiFlags {
  json?: boolean;
}

/** `avcare-cloud tickets ...`: the ticket API from a terminal, for engineers and scripts. */
export function ticketsCommand(): Command {
  const command = new Command('tickets').description('list, show, acknowledge and resolve service tickets through a running cloud');
  const common = withApiOptions;

  common(command.command('list'))
    .description('tickets, newest first')
    .option('--school <id>', 'only this school')
    .addOption(new Option('--status <status>', 'only tickets in this status').choices(['open', 'acknowledged', 'in_progress', 'resolved', 'closed']))
    .addOption(new Option('--severity <severity>', 'only this severity').choices(['general', 'urgent', 'critical']))
    .option('--team <id>', 'only tickets routed to this service team')
    .option('--active', 'leave out closed tickets')
    .action(async (flags: CommonFlags & { school?: string; status?: string; severity?: string; team?: string; active?: boolean }) => {
      const query = new URLSearchParams();
      for (const [name, value] of [['school', flags.school], ['status', flags.status], ['severity', flags.severity], ['team', flags.team]] as const) {
        if (value !== undefined) query.set(name, value);
      }
      if (flags.active) query.set('active', 'true');
      const { tickets } = await request<{ tickets: Ticket[] }>(flags, 'GET', `/api/tickets?${query.toString()}`);
      print(flags, { tickets }, () => renderList(tickets));
    });

  common(command.command('show'))
    .description('one ticket with its history and SLA, as the engineer sees it')
    .argument('<id>', 'ticket id, e.g. TK-7F3K9QXM')
    .action(async (id: string, flags: CommonFlags) => {
      const found = await request<{ ticket: Ticket & { sla?: SlaTimers }; history: TicketHistoryEntry[]; knowledge?: Knowledge }>(flags, 'GET', `/api/tickets/${encodeURIComponent(id)}`);
      print(flags, found, () => renderTicket(found.ticket, found.history, found.knowledge));
    });

  common(command.command('ack'))
    .description('acknowledge a ticket (the first response)')
    .argument('<id>', 'ticket id')
    .action(async (id: string, flags: CommonFlags) => {
      // Who acknowledges is the signed-in person: the cloud records it, nobody types it.
      const found = await request<{ ticket: Ticket; history: TicketHistoryEntry[] }>(flags, 'POST', `/api/tickets/${encodeURIComponent(id)}/ack`, {});
      print(flags, found, () => `${found.ticket.id} is now ${found.ticket.status}\n`);
    });

  common(command.command('resolve'))
    .description('resolve a ticket with a written report')
    .argument('<id>', 'ticket id')
    .requiredOption('--note <text>', 'what was done')
    .option('--cause <text>', 'the cause found')
    .option('--actions <text>', 'the actions taken')
    .action(async (id: string, flags: CommonFlags & { note: string; cause?: string; actions?: string }) => {
      const body = { note: flags.note, ...(flags.cause === undefined ? {} : { cause: flags.cause }), ...(flags.actions === undefined ? {} : { actions: flags.actions }) };
      const found = await request<{ ticket: Ticket; history: TicketHistoryEntry[] }>(flags, 'POST', `/api/tickets/${encodeURIComponent(id)}/resolve`, body);
      print(flags, found, () => `${found.ticket.id} is now ${found.ticket.status}\n`);
    });

  return command;
}

function request<T>(flags: CommonFlags, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  return callApi<T>(flags, method, path, body);
}

const print = printResult;

/** Text that came from devices or people: control characters (terminal escapes) never reach the terminal. */
function safe(text: string | null, max = 200): string {
  return text === null ? '-' : (untrustedText(text, max) ?? '');
}

function renderList(tickets: readonly Ticket[]): string {
  if (tickets.length === 0) return 'no tickets\n';
  const rows = tickets.map((ticket) => [ticket.id, ticket.severity, ticket.status, `${ticket.schoolId}/${ticket.roomId}`, ticket.teamId ?? '(unrouted)', ticket.openedAt.slice(0, 16).replace('T', ' '), safe(ticket.title, 70)]);
  const header = ['ID', 'SEVERITY', 'STATUS', 'SCHOOL/ROOM', 'TEAM', 'OPENED (UTC)', 'TITLE'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One line per SLA promise: where it stands and when it is due. */
function renderSla(sla: SlaTimers | undefined): string[] {
  if (!sla) return [];
  const timers = [sla.firstResponse, sla.resolution, ...(sla.onSite ? [sla.onSite] : [])];
  return timers.map((timer) => {
    const minutes = Math.round(Math.abs(timer.remainingMs) / 60_000);
    const left = timer.state === 'met' || timer.state === 'missed' ? '' : timer.remainingMs >= 0 ? `, ${minutes} min left` : `, ${minutes} min over`;
    return `SLA ${timer.name}: ${timer.state}, due ${String(timer.dueAt)}${left}`;
  });
}

function renderTicket(ticket: Ticket & { sla?: SlaTimers }, history: readonly TicketHistoryEntry[], knowledge?: Knowledge): string {
  const lines = [
    `${ticket.id}  ${ticket.severity.toUpperCase()}  ${ticket.status}  ${safe(ticket.title)}`,
    `school ${ticket.schoolId}, room ${ticket.roomId}, agent ${ticket.agentKey}; team ${ticket.teamId ?? '(unrouted)'}`,
    `category ${ticket.category}; occurrences ${ticket.occurrences} (flaps ${ticket.flaps}, reopened ${ticket.reopens}); first ${ticket.firstOccurrenceAt}, last ${ticket.lastOccurrenceAt}`,
    `severity because: ${ticket.severityReasons.map((reason) => safe(reason)).join('; ')}`,
    ...renderSla(ticket.sla),
    '',
    ...ticket.description.split('\n').map((line) => `  ${safe(line, 500)}`),
  ];
  if (ticket.agentActions.length > 0) {
    lines.push('', 'what the agent already tried:', ...ticket.agentActions.map((action) => `  ${safe(action.action)}: ${safe(action.result)}`));
  }
  if (ticket.resolution) lines.push('', `resolved by ${safe(ticket.resolution.by)} (${ticket.resolution.verifiedBy}) after ${ticket.resolution.minutesToRestore} min: ${safe(ticket.resolution.note, 500)}`);
  if (knowledge && knowledge.selfHelp.length > 0) lines.push('', 'self-help:', ...knowledge.selfHelp.map((step, index) => `  ${index + 1}. ${safe(step, 500)}`));
  if (knowledge && knowledge.pastResolutions.length > 0) {
    lines.push('', 'resolved before:', ...knowledge.pastResolutions.map((past) => `  ${past.ticketId} (${safe(past.by)}): ${safe(past.cause ?? past.note, 300)}`));
  }
  lines.push('', 'history:', ...history.map((entry) => `  ${entry.at}  ${safe(entry.actor)}  ${entry.action}${entry.toStatus ? ` -> ${entry.toStatus}` : ''}`));
  return `${lines.join('\n')}\n`;
}
