/**
 * Asks one projector or display over PJLink (TCP) for its class, power, error status, lamps and
 * identity, the way devices in the field answer (see pjlink-lines.ts for their framing): one
 * command at a time, a fresh connection whenever the device closed the last one or an answer was
 * missing or garbled (so a late answer can never be taken for the next command's), and every
 * command the device does not do reported as such while what it did answer is kept.
 *
 * Four outcomes stay apart, for the probe and the faults: silence (PJLINK_TIMEOUT,
 * PJLINK_CONNECT_FAILED), refusal (PJLINK_REFUSED: connection refused or closed before any
 * answer), a rejected password (PJLINK_AUTH_FAILED), and a garbled answer
 * (PJLINK_PROTOCOL_ERROR, with the bytes).
 */
import { Socket } from 'node:net';
import { AvcareError, type PjlinkInfo } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import { abortReason, ConnectionClosedError, LineConnection } from './pjlink-lines.js';
import {
  PJLINK_ERROR_MEANINGS,
  PJLINK_MAX_TEXT_CHARS,
  authPrefix,
  buildCommand,
  parseClass,
  parseErrorStatus,
  parseFilterHours,
  parseGreeting,
  parseLamps,
  parsePower,
  parseResponse,
  sanitizeDeviceText,
  type PjlinkClass,
  type PjlinkErrorCode,
} from './pjlink.js';

export interface PjlinkTarget {
  host: string;
  port: number;
  /** Never logged and never put in an error message. */
  password?: string;
}

export interface PjlinkQueryOptions {
  /** How long the TCP connection may take to open. */
  connectTimeoutMs?: number;
  /** The least time to wait for the greeting and for each reply (devices may take 2 s); slow devices get more. */
  replyTimeoutMs?: number;
  /**
   * When the whole query must end (epoch ms, the probe's budget): the greeting and the first reply
   * may take up to it, and what was not answered by then is reported as unanswered.
   */
  deadline?: number;
  signal?: AbortSignal;
  /** Receives notes such as "LAMP unavailable in standby"; never the password. */
  log?: Logger;
}

export const PJLINK_CLIENT_DEFAULTS = { connectTimeoutMs: 3000, replyTimeoutMs: 3000 } as const;

const RAW_BYTES = 64;
/** After a garbled line, a real reply may still follow (a banner, an echo): this long is waited for it. */
const GARBLED_GRACE_MS = 300;

/** One command's fate. */
type Answer =
  | { value: string }
  | { error: PjlinkErrorCode }
  | { silent: true }
  | { closed: true }
  | { garbled: Buffer }
  | { outOfTime: true };

interface Settings {
  readonly target: PjlinkTarget;
  readonly where: string;
  readonly connectTimeoutMs: number;
  readonly replyTimeoutMs: number;
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly log: Logger | undefined;
}

export async function queryPjlink(target: PjlinkTarget, options: PjlinkQueryOptions = {}): Promise<PjlinkInfo> {
  const settings: Settings = {
    target,
    where: `${target.host}:${target.port}`,
    connectTimeoutMs: options.connectTimeoutMs ?? PJLINK_CLIENT_DEFAULTS.connectTimeoutMs,
    replyTimeoutMs: options.replyTimeoutMs ?? PJLINK_CLIENT_DEFAULTS.replyTimeoutMs,
    deadline: options.deadline,
    signal: options.signal,
    log: options.log,
  };
  options.signal?.throwIfAborted();
  const asker = new Asker(settings);
  try {
    return await readInfo(asker, settings);
  } finally {
    asker.close();
  }
}

/** What a run of commands found, item by item. */
class Findings {
  readonly commandErrors: NonNullable<PjlinkInfo['commandErrors']> = [];
  readonly unsupported: string[] = [];
  readonly badReplies: NonNullable<PjlinkInfo['badReplies']> = [];
  readonly unanswered: string[] = [];
  answered = 0;

  constructor(private readonly settings: Settings) {}

  /** The value of an answered command, or undefined after noting why there is none. */
  take(command: string, answer: Answer): string | undefined {
    if ('value' in answer) {
      this.answered += 1;
      return answer.value;
    }
    if ('error' in answer) {
      this.answered += 1;
      this.commandErrors.push({ command, error: answer.error });
      if (answer.error === 'ERR1' || answer.error === 'ERR2') this.unsupported.push(command);
      this.settings.log?.debug({ target: this.settings.where, command, reply: answer.error }, `PJLink ${command}: ${PJLINK_ERROR_MEANINGS[answer.error]}`);
      return undefined;
    }
    if ('garbled' in answer) this.badReplies.push(rawOf(command, answer.garbled));
    else if ('outOfTime' in answer) this.unanswered.push(command);
    else this.unsupported.push(command);
    return undefined;
  }

  /** A value the codec could not read is a bad reply too, with its bytes. */
  parse<T>(command: string, value: string | undefined, parse: (value: string) => T): T | undefined {
    if (value === undefined) return undefined;
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof AvcareError)) throw error;
      this.badReplies.push(rawOf(command, Buffer.from(value, 'utf8')));
      return undefined;
    }
  }
}

async function readInfo(asker: Asker, settings: Settings): Promise<PjlinkInfo> {
  const found = new Findings(settings);
  // POWR first: every PJLink device answers it, so it may take as long as the device needs (up to
  // the deadline) and teaches how slow the device is; CLSS, which some devices ignore, comes after.
  const powerAnswer = await asker.ask('1', 'POWR');
  const powerValue = found.take('POWR', powerAnswer);
  const classAnswer = await asker.ask('1', 'CLSS');
  const classValue = found.take('CLSS', classAnswer);
  if (found.answered === 0) throw nobodyThere(settings, [powerAnswer, classAnswer]);

  const pjlinkClass: PjlinkClass = found.parse('CLSS', classValue, parseClass) ?? '1';
  const power = found.parse('POWR', powerValue, parsePower) ?? 'unknown';
  const errorValue = found.take('ERST', await asker.ask('1', 'ERST'));
  const parsedErrors = found.parse('ERST', errorValue, parseErrorStatus);
  const lamps = found.parse('LAMP', found.take('LAMP', await asker.ask('1', 'LAMP')), parseLamps) ?? [];
  const text = async (cls: PjlinkClass, body: string): Promise<string | undefined> => {
    const value = found.take(body, await asker.ask(cls, body));
    return value === undefined ? undefined : sanitizeDeviceText(value);
  };
  const name = await text('1', 'NAME');
  const manufacturer = await text('1', 'INF1');
  const product = await text('1', 'INF2');
  const info: PjlinkInfo = {
    pjlinkClass,
    power,
    // ERR3 to ERST in standby, or no ERST at all: not a real "ok", which commandErrors and unsupported say.
    errors: parsedErrors ?? { fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' },
    lamps,
    authenticated: asker.authenticated,
  };
  if (pjlinkClass === '2') {
    const serialNumber = await text('2', 'SNUM');
    if (serialNumber !== undefined) info.serialNumber = serialNumber;
    const softwareVersion = await text('2', 'SVER');
    if (softwareVersion !== undefined) info.softwareVersion = softwareVersion;
    const filterHours = found.parse('FILT', found.take('FILT', await asker.ask('2', 'FILT')), parseFilterHours);
    if (filterHours !== undefined) info.filterHours = filterHours;
  }
  // ERR4 is the device saying it has failed: shown as an 'other' error so the device is faulty.
  if (found.commandErrors.some((entry) => entry.error === 'ERR4')) info.errors = { ...info.errors, other: 'error' };
  if (name !== undefined) info.name = name;
  if (manufacturer !== undefined) info.manufacturer = manufacturer;
  if (product !== undefined) info.product = product;
  if (found.commandErrors.length > 0) info.commandErrors = found.commandErrors;
  if (found.unsupported.length > 0) info.unsupported = found.unsupported;
  if (found.badReplies.length > 0) info.badReplies = found.badReplies;
  if (found.unanswered.length > 0) info.unanswered = found.unanswered;
  return info;
}

/** Nothing was answered: silence, refusal or garbage, as the first two commands met it. */
function nobodyThere(settings: Settings, answers: readonly Answer[]): AvcareError {
  const context = { host: settings.target.host, port: settings.target.port };
  const garbled = answers.find((answer): answer is { garbled: Buffer } => 'garbled' in answer);
  if (garbled) return notPjlink(settings, 'POWR', garbled.garbled);
  if (answers.every((answer) => 'closed' in answer)) {
    return new AvcareError('PJLINK_REFUSED', `${settings.where} closed the connection at every command without answering`, context);
  }
  return new AvcareError('PJLINK_TIMEOUT', `${settings.where} sent its PJLink greeting but answered neither CLSS nor POWR`, context);
}

/**
 * Sends commands over a session, opening a new one whenever the device has closed the last or
 * the last answer went astray. Reply waits adapt: a device that took 2.5 s once gets at least
 * twice that for the next command, within the deadline.
 */
class Asker {
  private session: Session | undefined;
  private slowestReplyMs = 0;
  private answeredOnce = false;
  authenticated = false;

  constructor(private readonly settings: Settings) {}

  async ask(cls: PjlinkClass, body: string): Promise<Answer> {
    if (this.settings.deadline !== undefined && this.settings.deadline - Date.now() <= 0) return { outOfTime: true };
    // A device that closes after every reply: one fresh connection for the command, not more.
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      this.settings.signal?.throwIfAborted();
      if (this.session === undefined || this.session.closed) {
        this.session?.destroy();
        this.session = await Session.open(this.settings, this.waitFor(true));
        this.authenticated ||= this.session.usesAuth;
      }
      const started = Date.now();
      // Until the device has answered once, how slow it is is unknown: the first reply may take up to the deadline.
      const answer = await this.session.ask(cls, body, this.waitFor(!this.answeredOnce));
      if ('value' in answer || 'error' in answer) {
        this.answeredOnce = true;
        this.slowestReplyMs = Math.max(this.slowestReplyMs, Date.now() - started);
        return answer;
      }
      // Whatever went astray, the next command starts on a fresh connection, so a late answer is never taken for its reply.
      this.session.destroy();
      // Silence cut short by the deadline says nothing about the command: it is unanswered, not unsupported.
      if ('silent' in answer && this.settings.deadline !== undefined && Date.now() >= this.settings.deadline - 10) return { outOfTime: true };
      if (!('closed' in answer)) return answer;
      this.settings.log?.debug({ target: this.settings.where, command: body }, 'PJLink device closed the connection; reconnecting');
    }
    return { closed: true };
  }

  close(): void {
    this.session?.destroy();
  }

  /** The first contact may take up to the deadline; later replies twice the slowest so far, at least replyTimeoutMs. */
  private waitFor(firstContact: boolean): number {
    const remaining = this.settings.deadline === undefined ? Number.POSITIVE_INFINITY : this.settings.deadline - Date.now();
    const adaptive = Math.max(this.settings.replyTimeoutMs, this.slowestReplyMs * 2 + 500);
    return Math.floor(Math.min(remaining, firstContact && this.settings.deadline !== undefined ? remaining : adaptive));
  }
}

/** One connection after its greeting: knows whether the next command needs the auth prefix. */
class Session {
  private pendingPrefix: string | undefined;

  private constructor(
    private readonly connection: LineConnection,
    private readonly settings: Settings,
    readonly usesAuth: boolean,
    prefix: string | undefined,
  ) {
    this.pendingPrefix = prefix;
  }

  static async open(settings: Settings, greetingWaitMs: number): Promise<Session> {
    const connection = await connect(settings);
    try {
      return await Session.greet(connection, settings, greetingWaitMs);
    } catch (error) {
      connection.destroy();
      throw error;
    }
  }

  private static async greet(connection: LineConnection, settings: Settings, waitMs: number): Promise<Session> {
    const { where, target } = settings;
    const context = { host: target.host, port: target.port };
    let line: Buffer;
    try {
      line = await connection.nextLine(waitMs, () => new AvcareError('PJLINK_TIMEOUT', `${where} accepted the connection but sent no PJLink greeting within ${waitMs} ms`, context));
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) throw error;
      // Devices that allow one PJLink session at a time close new connections while another controller holds it.
      throw new AvcareError('PJLINK_REFUSED', `${where} closed the connection before sending its PJLink greeting`, context, { cause: error });
    }
    const greeting = parseGreeting(decode(line));
    if ('garbled' in greeting) throw notPjlink(settings, 'greeting', line);
    if ('error' in greeting) throw authFailed(settings, `${where} refused the PJLink session (PJLINK ERRA)`);
    if (!greeting.auth) return new Session(connection, settings, false, undefined);
    if (target.password === undefined) throw authFailed(settings, `${where} asks for a PJLink password but none is configured`);
    return new Session(connection, settings, true, authPrefix(greeting.random, target.password));
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  /** The reply to this command: lines answering other commands (late, unsolicited) are skipped. */
  async ask(cls: PjlinkClass, body: string, waitMs: number): Promise<Answer> {
    const stale = this.connection.discardPendingLines();
    // PJLink devices speak only when spoken to on TCP; a line that came before the command cannot be its reply.
    if (stale > 0) this.settings.log?.debug({ target: this.settings.where, lines: stale }, 'PJLink: dropped unsolicited lines');
    this.connection.write((this.pendingPrefix ?? '') + buildCommand(cls, body));
    this.pendingPrefix = undefined;
    const deadline = Date.now() + waitMs;
    let garbled: Buffer | undefined;
    for (;;) {
      const left = garbled === undefined ? deadline - Date.now() : Math.min(deadline - Date.now(), GARBLED_GRACE_MS);
      let line: Buffer;
      try {
        line = await this.connection.nextLine(left, () => new ReplyTimeout());
      } catch (error) {
        if (error instanceof ReplyTimeout) return garbled === undefined ? { silent: true } : { garbled };
        if (error instanceof ConnectionClosedError) return garbled === undefined ? { closed: true } : { garbled };
        throw error;
      }
      const response = parseResponse(decode(line));
      if ('authError' in response) throw authFailed(this.settings, `${this.settings.where} rejected the configured PJLink password (PJLINK ERRA)`);
      if ('garbled' in response) {
        garbled ??= line;
        continue;
      }
      if (response.command !== body) {
        // A reply to another command: the right one may still follow (a repeated earlier reply);
        // if it does not, this is what the device answered, and it is wrong.
        garbled ??= line;
        continue;
      }
      return 'error' in response ? { error: response.error } : { value: response.value };
    }
  }

  destroy(): void {
    this.connection.destroy();
  }
}

/** A reply wait ran out. Internal: turned into { silent } or { garbled }. */
class ReplyTimeout extends Error {}

function connect(settings: Settings): Promise<LineConnection> {
  const { target, where, signal } = settings;
  return new Promise<LineConnection>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const socket = new Socket();
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => {
      cleanup();
      // Built here, not after the await, so the socket is never without an 'error' listener.
      resolve(new LineConnection(socket, where, signal, (raw) => notPjlink(settings, 'reply', raw, 'more than 1 KiB without a line end')));
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      const context = { host: target.host, port: target.port, errno: error.code };
      // A refusal is an answer (nothing listens, or PJLink is switched off); the rest is silence.
      fail(
        error.code === 'ECONNREFUSED'
          ? new AvcareError('PJLINK_REFUSED', `${where} refused the connection: nothing listens for PJLink there`, context, { cause: error })
          : new AvcareError('PJLINK_CONNECT_FAILED', `cannot connect to ${where}: ${error.code ?? error.message}`, context, { cause: error }),
      );
    };
    const onAbort = (): void => fail(abortReason(signal));
    const timer = setTimeout(
      () => fail(new AvcareError('PJLINK_CONNECT_FAILED', `no TCP answer from ${where} within ${settings.connectTimeoutMs} ms`, { host: target.host, port: target.port })),
      settings.connectTimeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay(true);
    socket.connect({ host: target.host, port: target.port });
  });
}

/** Names from class 2 devices may be UTF-8; invalid bytes become U+FFFD rather than failing. */
const utf8 = new TextDecoder('utf-8');
function decode(line: Buffer): string {
  return utf8.decode(line);
}

function rawOf(command: string, raw: Buffer): { command: string; raw: string; rawHex: string } {
  return { command, raw: decode(raw.subarray(0, RAW_BYTES)).slice(0, PJLINK_MAX_TEXT_CHARS), rawHex: raw.subarray(0, RAW_BYTES).toString('hex') };
}

function notPjlink(settings: Settings, what: string, raw: Buffer, detail?: string): AvcareError {
  const { raw: text, rawHex } = rawOf(what, raw);
  return new AvcareError('PJLINK_PROTOCOL_ERROR', `${settings.where} answered ${what} with ${JSON.stringify(text)}: ${detail ?? 'not a PJLink reply'}`, {
    host: settings.target.host,
    port: settings.target.port,
    command: what,
    raw: text,
    rawHex,
  });
}

function authFailed(settings: Settings, message: string): AvcareError {
  return new AvcareError('PJLINK_AUTH_FAILED', message, {
    host: settings.target.host,
    port: settings.target.port,
    passwordConfigured: settings.target.password !== undefined,
  });
}
