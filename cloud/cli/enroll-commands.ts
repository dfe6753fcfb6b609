import { enrollCommands } from '../../protocol/enroll-command.js';
import { Command, InvalidArgumentError } from 'commander';
import { untrustedText } from '../../protocol/index.js';
import { table } from './account-commands.js';
import { callApi, cloudUrl, printResult, withApiOptions, type ApiFlags } from './cli-session.js';
import type { EnrolledAgent } from '../identity/agent-registry.js';
import type { EnrollTokenInfo } from '../identity/enroll-tokens.js';

interface CommonFlags extends ApiFlags {
  json?: boolean;
}

const common = withApiOptions;

const print = printResult;

function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidArgumentError(`${flag} must be a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

/** `enroll-tokens create|list|revoke`: what the person installing a school's PCs is given. */
export function enrollTokensCommand(): Command {
  const command = new Command('enroll-tokens').description('enrollment tokens: create one for a school, list them, revoke one');

  common(command.command('create'))
    .description('create a token; it is printed once, with the install command to run on each PC')
    .requiredOption('--school <id>', 'the school the PCs join')
    .option('--room <id>', 'room of the PCs enrolled with it (unless a PC gives --room)')
    .option('--uses <n>', 'how many PCs it may enroll (default 1)', wholeNumber('--uses', 1, 1000))
    .option('--hours <n>', 'hours until it expires (default 168: 7 days)', wholeNumber('--hours', 1, 2160))
    .option('--label <text>', 'what it is for, e.g. "building B"')
    .action(async (flags: CommonFlags & { school: string; room?: string; uses?: number; hours?: number; label?: string }) => {
      const body = {
        school: flags.school,
        ...(flags.room === undefined ? {} : { roomId: flags.room }),
        ...(flags.uses === undefined ? {} : { uses: flags.uses }),
        ...(flags.hours === undefined ? {} : { ttlHours: flags.hours }),
        ...(flags.label === undefined ? {} : { label: flags.label }),
      };
      const answer = await callApi<{ token: string; info: EnrollTokenInfo }>(flags, 'POST', '/api/enroll-tokens', body);
      const commands = enrollCommands(cloudUrl(flags), answer.token, answer.info.roomId);
      print(flags, answer, () =>
        [
          `enrollment token ${answer.info.id} for school ${answer.info.schoolId}: ${answer.info.maxUses} PC(s), until ${answer.info.expiresAt}`,
          'The token is shown only now. On each classroom PC:',
          '',
          `    ${commands.install}`,
          `    (or, with the agent installed: ${commands.enroll})`,
          '',
        ].join('\n'),
      );
    });

  common(command.command('list'))
    .description('tokens of the schools you manage, newest first')
    .option('--school <id>', 'only this school')
    .action(async (flags: CommonFlags & { school?: string }) => {
      const answer = await callApi<{ tokens: EnrollTokenInfo[] }>(flags, 'GET', `/api/enroll-tokens${flags.school === undefined ? '' : `?school=${encodeURIComponent(flags.school)}`}`);
      print(flags, answer, () => renderTokens(answer.tokens));
    });

  common(command.command('revoke'))
    .description('revoke a token: it enrolls no further PC (PCs already enrolled stay)')
    .argument('<id>', 'token id, e.g. ET-7F3K9QXM2A')
    .action(async (id: string, flags: CommonFlags) => {
      const answer = await callApi<{ info: EnrollTokenInfo }>(flags, 'POST', `/api/enroll-tokens/${encodeURIComponent(id)}/revoke`);
      print(flags, answer, () => `${answer.info.id} is revoked (${answer.info.uses} of ${answer.info.maxUses} uses were taken)\n`);
    });

  return command;
}

/** `agents list|revoke|readmit`: the enrolled PCs and their credentials. */
export function agentsCommand(): Command {
  const command = new Command('agents').description('enrolled agents: list them, revoke one, let a revoked one come back');

  common(command.command('list'))
    .description('enrolled agents of the schools you see')
    .option('--school <id>', 'only this school')
    .option('--revoked', 'list revoked agents too')
    .action(async (flags: CommonFlags & { school?: string; revoked?: boolean }) => {
      const query = new URLSearchParams();
      if (flags.school !== undefined) query.set('school', flags.school);
      if (flags.revoked) query.set('revoked', 'true');
      const answer = await callApi<{ agents: EnrolledAgent[] }>(flags, 'GET', `/api/enrolled-agents?${query.toString()}`);
      print(flags, answer, () => renderAgents(answer.agents));
    });

  common(command.command('revoke'))
    .description('revoke an agent: the broker drops it now and refuses its credentials from now on')
    .argument('<id>', 'SCHOOL_ID:AGENT_ID as listed')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (id: string, flags: CommonFlags & { reason?: string }) => {
      const answer = await callApi<{ agent: EnrolledAgent }>(flags, 'POST', `/api/agents/${encodeURIComponent(id)}/revoke`, flags.reason === undefined ? {} : { reason: flags.reason });
      print(flags, answer, () => `${answer.agent.id} is revoked\n`);
    });

  common(command.command('readmit'))
    .description('let a revoked agent come back as itself: its PC (proving it is that PC with its key) enrolls again with a token; without this it joins as a new agent')
    .argument('<id>', 'SCHOOL_ID:AGENT_ID as listed with --revoked')
    .action(async (id: string, flags: CommonFlags) => {
      const answer = await callApi<{ agent: EnrolledAgent }>(flags, 'POST', `/api/agents/${encodeURIComponent(id)}/readmit`);
      print(flags, answer, () => `${answer.agent.id} may come back: run avcare-agent enroll --cloud URL --token TOKEN on that PC (its own key proves it is that PC)\n`);
    });

  return command;
}

const safe = (text: string | null): string => (text === null ? '-' : (untrustedText(text, 60) ?? '-'));

function renderTokens(tokens: readonly EnrollTokenInfo[]): string {
  if (tokens.length === 0) return 'no enrollment tokens\n';
  return table(
    ['ID', 'SCHOOL', 'ROOM', 'USES', 'STATE', 'EXPIRES (UTC)', 'LABEL'],
    tokens.map((token) => [token.id, token.schoolId, token.roomId ?? '-', `${token.uses}/${token.maxUses}`, token.state, token.expiresAt.slice(0, 16).replace('T', ' '), safe(token.label)]),
  );
}

function renderAgents(agents: readonly EnrolledAgent[]): string {
  if (agents.length === 0) return 'no enrolled agents\n';
  return table(
    ['AGENT', 'ROOM', 'HOST', 'ENROLLED (UTC)', 'STATE'],
    agents.map((agent) => [agent.id, agent.roomId, safe(agent.hostname), agent.enrolledAt.slice(0, 16).replace('T', ' '), agent.revokedAt === null ? 'active' : `revoked ${agent.revokedAt.slice(0, 10)}${agent.readmittedAt === null ? '' : ', readmitted'}`]),
  );
}
