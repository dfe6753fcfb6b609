import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';
import { requestJson, streamEvents, trustedCas } from '../../protocol/http-json.js';

export const DEFAULT_CLOUD_URL = 'http://127.0.0.1:8080';

/** What `avcare-cloud login` keeps: the token and where it is valid. */
const sessionSchema = z.object({
  url: z.string(),
  token: z.string(),
  tokenId: z.string(),
  name: z.string(),
  expiresAt: z.string(),
  caFile: z.string().optional(),
});
export type CliSession = z.infer<typeof sessionSchema>;

/** `$XDG_CONFIG_HOME/avcare/cloud-session.json` (0600, in a 0700 folder), or AVCARE_SESSION_FILE. */
export function sessionFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AVCARE_SESSION_FILE) return env.AVCARE_SESSION_FILE;
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'avcare', 'cloud-session.json');
}

export function readSession(file = sessionFile()): CliSession | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read the sign-in ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const parsed = sessionSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

export function writeSession(session: CliSession, file = sessionFile()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file: make sure it is the owner's only.
  chmodSync(file, 0o600);
}

export function forgetSession(file = sessionFile()): void {
  rmSync(file, { force: true });
}

export interface ApiFlags {
  url?: string;
  ca?: string;
}

/** The cloud a command talks to: --url, $AVCARE_CLOUD_URL, the signed-in cloud, or this machine. */
export function cloudUrl(flags: ApiFlags, session = readSession()): string {
  // An empty variable counts as unset, as shells and systemd units leave it.
  return (flags.url ?? (process.env.AVCARE_CLOUD_URL || undefined) ?? session?.url ?? DEFAULT_CLOUD_URL).replace(/\/+$/, '');
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new AvcareError('INVALID_ARGUMENT', `--url ${url} is not a URL (expected e.g. ${DEFAULT_CLOUD_URL})`, { url });
  }
}

/** Where a request goes and with which token and CAs: the token `login` stored goes only to the cloud it came from. */
function apiTarget(flags: ApiFlags, path: string, anonymous: boolean, explicitToken?: string): { url: URL; token: string | undefined; ca: string[] | undefined } {
  const session = readSession();
  const base = cloudUrl(flags, session);
  const origin = originOf(base);
  const token = anonymous ? undefined : (explicitToken ?? (process.env.AVCARE_TOKEN || undefined) ?? (session && originOf(session.url) === origin ? session.token : undefined));
  if (!anonymous && token === undefined) {
    throw new AvcareError('UNAUTHENTICATED', `not signed in to ${origin}: run avcare-cloud login --url ${base} --user NAME`);
  }
  const caFile = flags.ca ?? (session && originOf(session.url) === origin ? session.caFile : undefined);
  return { url: new URL(path, `${base}/`), token, ca: origin.startsWith('https:') ? trustedCas(caFile) : undefined };
}

/**
 * A request to the API as the signed-in person: $AVCARE_TOKEN, or the token `login` stored,
 * which is sent only to the cloud it came from (never to another --url).
 */
export async function callApi<T>(flags: ApiFlags, method: 'GET' | 'POST', path: string, body?: unknown, options: { anonymous?: boolean; timeoutMs?: number; token?: string } = {}): Promise<T> {
  const target = apiTarget(flags, path, options.anonymous === true, options.token);
  const { body: answer } = await requestJson<T>({
    method,
    url: target.url,
    ...(body === undefined ? {} : { body }),
    ...(target.token === undefined ? {} : { bearerToken: target.token }),
    ...(target.ca ? { ca: target.ca } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return answer;
}

/** A server-sent event stream of the API as the signed-in person: each event's data, until the stream ends or `onEvent` says stop. */
export async function streamApi(flags: ApiFlags, path: string, onEvent: (data: string) => boolean | void): Promise<void> {
  const target = apiTarget(flags, path, false);
  await streamEvents({ url: target.url, ...(target.token === undefined ? {} : { bearerToken: target.token }), ...(target.ca ? { ca: target.ca } : {}) }, onEvent);
}

let stdinLines: Promise<string[]> | undefined;

/**
 * A password from the terminal without echo, or the next line of standard input when it is not
 * a terminal (scripts pipe the password, or the current and the new one on two lines).
 */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    stdinLines ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
    })();
    const lines = await stdinLines;
    const line = lines.shift();
    if (line === undefined || line.length === 0) throw new AvcareError('INVALID_ARGUMENT', `${prompt.replace(/:\s*$/, '')}: standard input has no (further) line`);
    return line;
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (data: Buffer): void => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          done();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          done();
          reject(new AvcareError('INVALID_ARGUMENT', 'cancelled'));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/** The options every command that calls the API takes. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--url <url>', 'the cloud (default $AVCARE_CLOUD_URL, the cloud you signed in to, or http://127.0.0.1:8080)')
    .option('--ca <file>', 'CA certificate (PEM) to verify an https cloud')
    .option('--json', 'print the answer as JSON');
}

/** The API's answer as JSON with --json, else the human rendering. */
export function printResult(flags: { json?: boolean }, value: unknown, human: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** Who runs a command on this machine, for audit entries of local acts (`local:NAME`). */
export function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers).
    return String(process.getuid?.() ?? 'unknown');
  }
}
