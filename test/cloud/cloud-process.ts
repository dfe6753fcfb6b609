import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { EnrollResponse, MqttCredentials } from '../../protocol/index.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built entries, exactly as users run them: `npm test` builds them first. */
export const CLOUD_CLI = resolve(import.meta.dirname, '../../dist/cloud/cli.js');
export const DEV_STACK = resolve(import.meta.dirname, '../../dist/cloud/cli/dev-stack.js');

export interface RunningProcess {
  readonly child: ChildProcess;
  /** The working directory it runs in (a scratch folder unless given). */
  readonly cwd: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of the pattern in stdout; rejects when the process exits first or time runs out. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The exit code (128 + n for a signal), once the process has ended. */
  readonly exited: Promise<number>;
  /** SIGKILL if still running: for afterEach, so a failed test leaves no process behind. */
  kill(): void;
}

/**
 * Runs a built entry with node in a scratch working directory, its agent state kept there too
 * (STATE_DIRECTORY is what systemd sets; the agent honours it before /var/lib/avcare).
 */
export function runNodeEntry(entry: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningProcess {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm test does it first)`);
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'avcare-cloud-run-'));
  const child = spawn(process.execPath, [entry, ...args], {
    cwd,
    // Hermetic: the person's own state and config folders (npm start's note, a CLI sign-in) are never touched.
    env: { ...process.env, AVCARE_CONFIG: '', STATE_DIRECTORY: join(cwd, 'agent-state'), XDG_STATE_HOME: join(cwd, 'xdg-state'), XDG_CONFIG_HOME: join(cwd, 'xdg-config'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number>((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))));

  return {
    child,
    cwd,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolveMatch, reject) => {
        const deadline = setTimeout(() => finish(new Error(`no ${String(pattern)} within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const check = (): void => {
          const match = out.match(pattern);
          if (match) finish(match);
        };
        const onExit = (): void => finish(new Error(`exited before printing ${String(pattern)}\nstdout:\n${out}\nstderr:\n${err}`));
        function finish(result: RegExpMatchArray | Error): void {
          clearTimeout(deadline);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
          if (result instanceof Error) reject(result);
          else resolveMatch(result);
        }
        child.stdout?.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** GETs a URL (as the holder of `token`, when given) and returns the status and parsed JSON body. */
export async function getJson<T>(url: string, token?: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

/** POSTs JSON (as the holder of `token`, when given) and returns the status and parsed JSON body. */
export async function postJson<T>(url: string, body: unknown, token?: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as T };
}

/** The one-time password a cloud printed at its first start. */
export function oneTimePassword(stdout: string): string {
  const match = /one-time password[^\n]*\n\n {4}(\S+)\n/.exec(stdout);
  if (!match?.[1]) throw new Error(`no one-time password in:\n${stdout}`);
  return match[1];
}

/**
 * Signs in through the API; with a one-time password, replaces it first (as `avcare-cloud login`
 * does), and returns a token for the account.
 */
export async function signIn(baseUrl: string, name: string, password: string): Promise<string> {
  const login = await postJson<{ token: string; account: { mustChangePassword: boolean } }>(`${baseUrl}/api/auth/login`, { name, password });
  if (login.status !== 200) throw new Error(`sign-in as ${name} failed: ${JSON.stringify(login.body)}`);
  if (login.body.account.mustChangePassword) {
    const changed = await postJson(`${baseUrl}/api/auth/password`, { currentPassword: password, newPassword: `${password}-changed` }, login.body.token);
    if (changed.status !== 200) throw new Error(`changing the one-time password failed: ${JSON.stringify(changed.body)}`);
  }
  return login.body.token;
}

/** Polls until the check returns a value (not undefined) or time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
}

export const TEST_OPERATOR_PASSWORD = 'operator passphrase for the test';

/** A password file for the first operator (--admin-password-file), so a test signs in without reading a one-time password. */
export function operatorPasswordFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'avcare-admin-')), 'admin-password');
  writeFileSync(file, `${TEST_OPERATOR_PASSWORD}\n`, { mode: 0o600 });
  return file;
}

/** An enrollment token for a school, made by the operator of a cloud started with operatorPasswordFile(). */
export async function enrollmentToken(baseUrl: string, schoolId: string, uses = 1): Promise<string> {
  const token = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
  const created = await postJson<{ token?: string; error?: unknown }>(`${baseUrl}/api/enroll-tokens`, { school: schoolId, uses }, token);
  if (created.status !== 200 || created.body.token === undefined) throw new Error(`creating an enrollment token failed: ${JSON.stringify(created.body)}`);
  return created.body.token;
}

/** Enrolls an agent through POST /api/enroll with a token, as `avcare-agent enroll` does, and returns its MQTT credentials. */
export async function enrollThroughApi(baseUrl: string, token: string, sender: { schoolId: string; roomId: string; agentId: string }): Promise<MqttCredentials> {
  const enrolled = await postJson<EnrollResponse>(`${baseUrl}/api/enroll`, { token, installationId: randomUUID(), requestedAgentId: sender.agentId, roomId: sender.roomId });
  if (enrolled.status !== 200) throw new Error(`enrolling ${sender.agentId} failed: ${JSON.stringify(enrolled.body)}`);
  return enrolled.body.mqtt;
}

/** Connects to a broker as an enrolled agent. */
export function connectAgent(url: string, credentials: MqttCredentials): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, clientId: credentials.clientId, username: credentials.username, password: credentials.password, reconnectPeriod: 0 });
}
