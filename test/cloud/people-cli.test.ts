import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../cloud/tickets/ticket-store.js';
import { payloadOf, topicOf, validMessage } from '../collector/agent-traffic.js';
import { freePort } from '../helpers/free-port.js';
import { runCli } from '../helpers/run-cli.js';
import { CLOUD_CLI, eventually, oneTimePassword, runNodeEntry, type RunningProcess } from './cloud-process.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The built `avcare-cloud` as a person runs it, each person with a config folder of their own
 * (where `login` keeps the token); `input` is what they would type at the password prompts.
 */
function cloudCli(person: string, args: string[], input = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLOUD_CLI, ...args], { env: { ...process.env, XDG_CONFIG_HOME: configHome(person), AVCARE_CLOUD_URL: '', AVCARE_TOKEN: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    // 'close', not 'exit': output still in the pipes when the process exits is read before the result is taken.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const homes = new Map<string, string>();
function configHome(person: string): string {
  let home = homes.get(person);
  if (!home) {
    home = mkdtempSync(join(tmpdir(), `avcare-home-${person}-`));
    homes.set(person, home);
  }
  return home;
}

/**
 * From the first start to a resolved ticket, in terminals: the operator signs in with the one-time
 * password, creates an engineer, a school admin makes an enrollment token, a PC enrolls with it
 * and raises a fault, and the engineer acknowledges and resolves the ticket under their own name.
 */
describe('avcare-cloud for people: login, users, enroll-tokens, agents, tickets, audit', () => {
  let cloud: RunningProcess;
  let url: string;
  let mqttUrl: string;
  let id: string;
  let agentState: string;

  beforeAll(async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${httpPort}`;
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    const service = join(mkdtempSync(join(tmpdir(), 'avcare-service-')), 'service.json');
    writeFileSync(service, JSON.stringify({ regions: [{ id: 'east', city: 'Hangzhou' }], teams: [{ id: 'team-east', regions: ['east'] }], schools: [{ id: 'sch-cli', region: 'east' }] }));
    cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--service', service], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    await cloud.waitForOutput(/Ctrl-C stops/);
  }, 30_000);

  afterAll(() => cloud.kill());

  it('signs the operator in with the one-time password, makes them choose their own, and keeps the token for them only', async () => {
    const once = oneTimePassword(cloud.stdout());
    const login = await cloudCli('operator', ['login', '--url', url, '--user', 'operator'], `${once}\nthe operator's own passphrase\n`);
    expect(login).toMatchObject({ code: 0 });
    expect(login.stdout).toContain(`signed in to ${url} as operator (operator)`);
    expect(login.stderr).toContain('must be replaced now');
    const session = join(configHome('operator'), 'avcare', 'cloud-session.json');
    expect(statSync(session).mode & 0o777).toBe(0o600);
    expect(statSync(join(configHome('operator'), 'avcare')).mode & 0o777).toBe(0o700);
    // The one-time password is spent: it no longer signs in.
    expect((await cloudCli('stranger', ['login', '--url', url, '--user', 'operator'], `${once}\n`)).stderr).toContain('LOGIN_FAILED');
    // Without a login, no command reaches the API.
    expect((await cloudCli('stranger', ['tickets', 'list', '--url', url])).stderr).toContain(`not signed in to ${url}`);
  });

  it('lets the operator add people, who sign in with the one-time password they were given', async () => {
    const added = await cloudCli('operator', ['users', 'add', 'engineer-wang', '--role', 'engineer', '--team', 'team-east']);
    expect(added.code).toBe(0);
    const password = /\n\n {4}(\S+)\n/.exec(added.stdout)?.[1] ?? '';
    expect(password).toMatch(/^\S{20}$/);
    expect((await cloudCli('engineer', ['login', '--url', url, '--user', 'engineer-wang'], `${password}\nwang's own passphrase\n`)).code).toBe(0);
    const admin = await cloudCli('operator', ['users', 'add', 'admin-li', '--role', 'school_admin', '--school', 'sch-cli', '--password-stdin'], 'admin li passphrase\n');
    expect(admin.stdout).toBe('created admin-li (school admin of sch-cli)\n');
    expect((await cloudCli('admin', ['login', '--url', url, '--user', 'admin-li'], 'admin li passphrase\n')).code).toBe(0);
    const wrongTeam = await cloudCli('operator', ['users', 'add', 'engineer-x', '--role', 'engineer', '--team', 'atlantis']);
    expect(wrongTeam.code).not.toBe(0);
    expect(wrongTeam.stderr).toContain('no service team "atlantis" in the service configuration');
    const listed = await cloudCli('operator', ['users', 'list']);
    expect(listed.stdout).toMatch(/^engineer-wang\s+engineer\s+team-east\s+active/m);
    expect(listed.stdout).toMatch(/^admin-li\s+school_admin\s+sch-cli\s+active/m);
  });

  it('keeps no session file when a login fails half-way, and takes passwords from files for scripts', async () => {
    const added = await cloudCli('operator', ['users', 'add', 'teacher-xu', '--role', 'it_teacher', '--school', 'sch-cli']);
    const once = /\n\n {4}(\S+)\n/.exec(added.stdout)?.[1] ?? '';
    expect(once, `${added.stdout}\n${added.stderr}`).not.toBe('');
    // The one-time password is right, the new one too short: the sign-in is undone, nothing is kept.
    const failed = await cloudCli('teacher', ['login', '--url', url, '--user', 'teacher-xu'], `${once}\nshort\n`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('must be at least 8 characters');
    expect(existsSync(join(configHome('teacher'), 'avcare', 'cloud-session.json'))).toBe(false);
    const files = mkdtempSync(join(tmpdir(), 'avcare-passwords-'));
    writeFileSync(join(files, 'once'), `${once}\n`);
    writeFileSync(join(files, 'new'), 'teacher xu passphrase\n');
    const scripted = await cloudCli('teacher', ['login', '--url', url, '--user', 'teacher-xu', '--password-file', join(files, 'once'), '--new-password-file', join(files, 'new')]);
    expect(scripted.code, scripted.stderr).toBe(0);
    expect(scripted.stdout).toContain(`signed in to ${url} as teacher-xu (it teacher)`);
    expect(existsSync(join(configHome('teacher'), 'avcare', 'cloud-session.json'))).toBe(true);
    // A wrong password leaves no file either.
    expect((await cloudCli('stranger', ['login', '--url', url, '--user', 'teacher-xu'], 'not the password\n')).code).toBe(1);
    expect(existsSync(join(configHome('stranger'), 'avcare', 'cloud-session.json'))).toBe(false);
  });

  it('has the school admin make an enrollment token, with which a PC enrolls and reports a fault that becomes a ticket', async () => {
    const created = await cloudCli('admin', ['enroll-tokens', 'create', '--school', 'sch-cli', '--room', 'r1', '--uses', '2', '--label', 'lab PCs']);
    expect(created.code).toBe(0);
    const token = /--token (avc_et_\S+)/.exec(created.stdout)?.[1] ?? '';
    expect(created.stdout).toContain(`sudo bash install.sh --cloud ${url} --token ${token}`);
    expect((await cloudCli('admin', ['enroll-tokens', 'list'])).stdout).toMatch(/ET-\S+\s+sch-cli\s+r1\s+0\/2\s+active/);
    // The IT teacher on the PC: the agent enrolls itself and keeps its credentials for its own user.
    agentState = mkdtempSync(join(tmpdir(), 'avcare-pc-'));
    const enrolled = await runCli(['enroll', '--cloud', url, '--token', token], { stateHome: agentState });
    expect(enrolled).toMatchObject({ code: 0 });
    expect(enrolled.stdout).toMatch(/^enrolled: agent sch-cli:\S+, room r1/);
    expect(statSync(join(agentState, 'identity.json')).mode & 0o777).toBe(0o600);
    const again = await runCli(['enroll', '--cloud', url, '--token', token], { stateHome: agentState });
    expect(again.stdout).toMatch(/^enrolled again \(same agent, new credentials\)/);
    expect((await cloudCli('admin', ['enroll-tokens', 'list', '--json'])).stdout).toContain('"uses": 1');

    const identity = JSON.parse(readFileSync(join(agentState, 'identity.json'), 'utf8')) as { agentId: string; mqtt: { username: string; password: string; clientId: string } };
    const client = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, clientId: identity.mqtt.clientId, username: identity.mqtt.username, password: identity.mqtt.password });
    try {
      const fault = validMessage('fault', { schoolId: 'sch-cli', roomId: 'r1', agentId: identity.agentId }, 1);
      // A device string with a terminal escape: the human output must not pass it to the terminal.
      if (fault.type === 'fault') fault.message = 'camera gone \u001b[2J\u001b[31mred';
      await client.publishAsync(topicOf(fault), payloadOf(fault), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    id = await eventually(async () => {
      const listed = await cloudCli('engineer', ['tickets', 'list', '--json']);
      if (listed.code !== 0) return undefined;
      return (JSON.parse(listed.stdout) as { tickets: Ticket[] }).tickets[0]?.id;
    }, 10_000, 'the ticket of the published fault');
    expect((await cloudCli('engineer', ['agents', 'list'])).stdout).toMatch(new RegExp(`^sch-cli:${identity.agentId}\\s+r1\\s+\\S+\\s+\\S+ \\S+\\s+active`, 'm'));
  });

  it('acknowledges and resolves as the signed-in engineer, shown in the ticket and its history without terminal escapes', async () => {
    expect((await cloudCli('engineer', ['tickets', 'ack', id])).stdout).toBe(`${id} is now acknowledged\n`);
    const resolved = await cloudCli('engineer', ['tickets', 'resolve', id, '--note', 'reseated the USB cable', '--cause', 'loose cable']);
    expect(resolved.stdout).toBe(`${id} is now resolved\n`);
    const shown = await cloudCli('admin', ['tickets', 'show', id]);
    expect(shown.stdout).toContain('resolved by user:engineer-wang (engineer)');
    expect(shown.stdout).toMatch(/^SLA first-response: met, due \d{4}-\d\d-\d\dT/m);
    expect(shown.stdout).toMatch(/user:engineer-wang\s+acknowledged -> acknowledged/);
    expect(shown.stdout).toContain('camera gone');
    expect(shown.stdout).toContain(`resolved before:\n  ${id} (user:engineer-wang): loose cable`);
    expect(shown.stdout).not.toContain('\u001b');
    // An IT admin's role does not acknowledge tickets; a table of the tickets is theirs to read.
    const refused = await cloudCli('admin', ['tickets', 'ack', id]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('FORBIDDEN');
    // The hint fits who is refused: the school admin is pointed to the service team, not to "your school admin".
    expect(refused.stderr).toContain("hint: Moving a ticket along is the service team's work");
    expect(refused.stderr).not.toMatch(/school admin can/i);
    expect((await cloudCli('admin', ['tickets', 'list'])).stdout).toMatch(/^ID\s+SEVERITY\s+STATUS\s+SCHOOL\/ROOM\s+TEAM\s+OPENED \(UTC\)\s+TITLE$/m);
  });

  it('revokes the PC: the broker refuses its credentials from then on', async () => {
    const identity = JSON.parse(readFileSync(join(agentState, 'identity.json'), 'utf8')) as { agentId: string; mqtt: { username: string; password: string; clientId: string } };
    const revoked = await cloudCli('admin', ['agents', 'revoke', `sch-cli:${identity.agentId}`, '--reason', 'PC replaced']);
    expect(revoked.stdout).toBe(`sch-cli:${identity.agentId} is revoked\n`);
    await expect(mqtt.connectAsync(mqttUrl, { protocolVersion: 4, clientId: identity.mqtt.clientId, username: identity.mqtt.username, password: identity.mqtt.password, reconnectPeriod: 0 })).rejects.toThrow(/bad user ?name or password|not authorized/i);
    expect((await cloudCli('engineer', ['agents', 'list', '--revoked'])).stdout).toMatch(/revoked \d{4}-/);
  });

  it('disables an account at once and resets a password with a new one-time password', async () => {
    expect((await cloudCli('operator', ['users', 'disable', 'engineer-wang'])).stdout).toBe('engineer-wang is now disabled\n');
    expect((await cloudCli('engineer', ['tickets', 'list'])).stderr).toContain('UNAUTHENTICATED');
    expect((await cloudCli('operator', ['users', 'enable', 'engineer-wang'])).code).toBe(0);
    const reset = await cloudCli('operator', ['users', 'passwd', 'engineer-wang']);
    expect(reset.stdout).toMatch(/one-time password of engineer-wang[^\n]*\n\n {4}\S{20}\n/);
  });

  it('recovers a lost operator password on the cloud\'s own machine, straight in its database', async () => {
    const recovered = await cloudCli('operator', ['users', 'recover', 'operator', '--data', join(cloud.cwd, 'avcare-data')]);
    expect(recovered.code).toBe(0);
    const password = /\n\n {4}(\S{20})\n/.exec(recovered.stdout)?.[1] ?? '';
    const login = await cloudCli('operator', ['login', '--url', url, '--user', 'operator'], `${password}\nthe operator's second passphrase\n`);
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('must be replaced now');
    const missing = await cloudCli('operator', ['users', 'recover', 'nobody', '--data', join(cloud.cwd, 'avcare-data')]);
    expect(missing.stderr).toContain('no account "nobody" in this database');
  });

  it('verifies and exports the audit log of everything above, from the cloud\'s own data', async () => {
    const verified = await cloudCli('operator', ['audit', 'verify', '--data', join(cloud.cwd, 'avcare-data')]);
    expect(verified).toMatchObject({ code: 0 });
    expect(verified.stdout).toContain('the audit log is intact');
    const exported = await cloudCli('operator', ['audit', 'export', '--format', 'json', '--data', join(cloud.cwd, 'avcare-data')]);
    const actions = (JSON.parse(exported.stdout) as Array<{ action: string; actor: string }>).map((entry) => `${entry.actor} ${entry.action}`);
    for (const expected of [`local:${userInfo().username} account.password`, 'system account.create', 'user:operator auth.login', 'user:operator account.create', 'user:admin-li enroll-token.create', 'user:engineer-wang ticket.acknowledged', 'user:admin-li agent.revoke', 'user:operator account.disable', 'user:operator account.password']) {
      expect(actions).toContain(expected);
    }
    expect(actions.some((action) => / agent\.enroll$/.test(action))).toBe(true);
    expect(exported.stdout).not.toMatch(/avc_(et|ms|at)_/);
    const csv = await cloudCli('operator', ['audit', 'export', '--format', 'csv', '--since', '2020-01-01', '--data', join(cloud.cwd, 'avcare-data')]);
    expect(csv.stdout.split('\n')[0]).toBe('seq,at,actor,action,target,outcome,source,schoolId,detail,prevHash,hash');
  });

  it('exports a school admin\'s own school\'s entries through the API from their machine', async () => {
    const exported = await cloudCli('admin', ['audit', 'export', '--url', url, '--format', 'json']);
    expect(exported).toMatchObject({ code: 0 });
    const entries = JSON.parse(exported.stdout) as Array<{ action: string; schoolId: string | null }>;
    expect(entries.length).toBeGreaterThan(2);
    expect(new Set(entries.map((entry) => entry.schoolId))).toEqual(new Set(['sch-cli']));
    expect(entries.map((entry) => entry.action)).toContain('enroll-token.create');
    const csv = await cloudCli('admin', ['audit', 'export', '--api', '--format', 'csv', '--since', '2020-01-01']);
    expect(csv.stdout.split('\n')[0]).toBe('seq,at,actor,action,target,outcome,source,schoolId,detail,prevHash,hash');
    expect(csv.stdout.trim().split('\n')).toHaveLength(entries.length + 1);
  });

  it('says there is no database in a folder without one, and creates nothing there', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'avcare-not-data-'));
    for (const args of [['audit', 'verify', '--data', empty], ['audit', 'export', '--data', empty], ['users', 'recover', 'operator', '--data', empty]]) {
      const refused = await cloudCli('operator', args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`there is no avcare database at ${join(empty, 'avcare.db')}`);
      expect(readdirSync(empty)).toEqual([]);
    }
  });

  it('explains a refused move, an unknown ticket and an unreachable cloud, exiting non-zero; logout ends the session', async () => {
    const again = await cloudCli('operator', ['tickets', 'ack', id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is resolved');
    const unknown = await cloudCli('operator', ['tickets', 'show', 'TK-00000000']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no ticket TK-00000000');
    const port = await freePort();
    const unreachable = await cloudCli('operator', ['tickets', 'list', '--url', `http://127.0.0.1:${port}`]);
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain(`not signed in to http://127.0.0.1:${port}`);
    expect((await cloudCli('operator', ['logout'])).stdout).toBe(`signed out of ${url}\n`);
    expect((await cloudCli('operator', ['tickets', 'list'])).stderr).toContain('not signed in');
  });
});
