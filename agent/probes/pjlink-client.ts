/**
 * Asks one projector or display over PJLink (TCP) for its class, power, error status, lamps and
 * identity. One command at a time on one connection; reconnects when the device closes after a
 * reply, which some devices do.
 */
import { Socket } from 'node:net';
import { AvcareError, type PjlinkInfo } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
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
  type PjlinkErrorStatus,
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
  /** How long to wait for the greeting and for each reply; devices may take up to 2 s. */
  replyTimeoutMs?: number;
  signal?: AbortSignal;
  /** Receives notes such as "LAMP unavailable in standby"; never the password. */
  log?: Logger;
}

export const PJLINK_CLIENT_DEFAULTS = { connectTimeoutMs: 3000, replyTimeoutMs: 3000 } as const;

/** The longest PJLink reply is about 140 bytes; anything far longer without a CR is not PJLink. */
const MAX_LINE_BYTES = 1024;
const RAW_HEX_BYTES = 64;
/** A device that closes after each reply gets one fresh connection per command, not more. */
const ATTEMPTS_PER_COMMAND = 2;

type Answer = { value: string } | { error: PjlinkErrorCode };

interface Settings {
  readonly target: PjlinkTarget;
  readonly where: string;
  readonly connectTimeoutMs: number;
  readonly replyTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly log: Logger | undefined;
}

export async function queryPjlink(target: PjlinkTarget, options: PjlinkQueryOptions = {}): Promise<PjlinkInfo> {
  const settings: Settings = {
    target,
    where: `${target.host}:${target.port}`,
    connectTimeoutMs: options.connectTimeoutMs ?? PJLINK_CLIENT_DEFAULTS.connectTimeoutMs,
    replyTimeoutMs: options.replyTimeoutMs ?? PJLINK_CLIENT_DEFAULTS.replyTimeoutMs,
    signal: options.signal,
    log: options.log,
  };
  options.signal?.throwIfAborted();
  const asker = new ReconnectingAsker(settings);
  try {
    return await readInfo(asker, settings);
  } finally {
    asker.close();
  }
}

async function readInfo(asker: ReconnectingAsker, settings: Settings): Promise<PjlinkInfo> {
  const note = (command: string, error: PjlinkErrorCode, consequence: string): void =>
    settings.log?.debug({ target: settings.where, command, reply: error }, `PJLink ${command}: ${PJLINK_ERROR_MEANINGS[error]}; ${consequence}`);
  let deviceFailure = false;
  const commandErrors: NonNullable<PjlinkInfo['commandErrors']> = [];
  const failed = (answer: Answer): boolean => 'error' in answer && answer.error === 'ERR4';
  const record = (command: string, answer: Answer): void => {
    if ('error' in answer) commandErrors.push({ command, error: answer.error });
  };

  const classAnswer = await asker.ask('1', 'CLSS');
  const pjlinkClass: PjlinkClass = 'value' in classAnswer ? parseClass(classAnswer.value) : '1';
  if ('error' in classAnswer) note('CLSS', classAnswer.error, 'assuming class 1');

  const powerAnswer = await asker.ask('1', 'POWR');
  deviceFailure ||= failed(powerAnswer);
  record('POWR', powerAnswer);
  const power = 'value' in powerAnswer ? parsePower(powerAnswer.value) : 'unknown';

  const errorAnswer = await asker.ask('1', 'ERST');
  deviceFailure ||= failed(errorAnswer);
  record('ERST', errorAnswer);
  let errors: PjlinkErrorStatus = 'value' in errorAnswer ? parseErrorStatus(errorAnswer.value) : allOk();
  // Many projectors answer ERR3 to ERST and LAMP in standby: the device is fine, it just will
  // not say more until it is on, so this is a note and not a failure.
  if ('error' in errorAnswer) note('ERST', errorAnswer.error, "error status reported as 'ok'");

  const lampAnswer = await asker.ask('1', 'LAMP');
  deviceFailure ||= failed(lampAnswer);
  record('LAMP', lampAnswer);
  // Displays without a lamp answer ERR1 here.
  const lamps = 'value' in lampAnswer ? parseLamps(lampAnswer.value) : [];
  if ('error' in lampAnswer) note('LAMP', lampAnswer.error, 'no lamp hours');

  const name = await askText(asker, '1', 'NAME');
  const manufacturer = await askText(asker, '1', 'INF1');
  const product = await askText(asker, '1', 'INF2');
  const classTwo = pjlinkClass === '2' ? await readClassTwoExtras(asker) : {};

  // ERR4 is the device saying it has failed: shown as an 'other' error so the device is faulty,
  // and listed in commandErrors for whoever reads the evidence.
  if (deviceFailure) errors = { ...errors, other: 'error' };
  const info: PjlinkInfo = { pjlinkClass, power, errors, lamps, authenticated: asker.authenticated, ...classTwo };
  if (commandErrors.length > 0) info.commandErrors = commandErrors;
  if (name !== undefined) info.name = name;
  if (manufacturer !== undefined) info.manufacturer = manufacturer;
  if (product !== undefined) info.product = product;
  return info;
}

/** SNUM, SVER and FILT exist only in class 2; an ERRn reply (no filter, say) leaves the field out. */
async function readClassTwoExtras(asker: ReconnectingAsker): Promise<Pick<PjlinkInfo, 'serialNumber' | 'softwareVersion' | 'filterHours'>> {
  const extras: Pick<PjlinkInfo, 'serialNumber' | 'softwareVersion' | 'filterHours'> = {};
  const serialNumber = await askText(asker, '2', 'SNUM');
  if (serialNumber !== undefined) extras.serialNumber = serialNumber;
  const softwareVersion = await askText(asker, '2', 'SVER');
  if (softwareVersion !== undefined) extras.softwareVersion = softwareVersion;
  const filterAnswer = await asker.ask('2', 'FILT');
  if ('value' in filterAnswer) extras.filterHours = parseFilterHours(filterAnswer.value);
  return extras;
}

/** Optional strings (NAME, INF1, SNUM...): an ERRn reply or an empty value leaves them out. */
async function askText(asker: ReconnectingAsker, cls: PjlinkClass, body: string): Promise<string | undefined> {
  const answer = await asker.ask(cls, body);
  return 'value' in answer ? sanitizeDeviceText(answer.value) : undefined;
}

function allOk(): PjlinkErrorStatus {
  return { fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' };
}

/** Sends commands over a session, opening a new one whenever the device has closed the last. */
class ReconnectingAsker {
  private session: PjlinkSession | undefined;
  authenticated = false;

  constructor(private readonly settings: Settings) {}

  async ask(cls: PjlinkClass, body: string): Promise<Answer> {
    for (let attempt = 1; ; attempt += 1) {
      this.settings.signal?.throwIfAborted();
      if (this.session === undefined || this.session.closed) {
        this.session?.destroy();
        this.session = await PjlinkSession.open(this.settings);
        this.authenticated ||= this.session.usesAuth;
      }
      try {
        return await this.session.ask(cls, body);
      } catch (error) {
        if (!(error instanceof ConnectionClosedError)) throw error;
        if (attempt >= ATTEMPTS_PER_COMMAND) {
          throw new AvcareError('PJLINK_PROTOCOL_ERROR', `${this.settings.where} closed the connection without answering %${cls}${body}, twice`, {
            host: this.settings.target.host,
            port: this.settings.target.port,
            command: body,
          }, { cause: error });
        }
        this.settings.log?.debug({ target: this.settings.where, command: body }, 'PJLink device closed the connection; reconnecting');
      }
    }
  }

  close(): void {
    this.session?.destroy();
  }
}

/** One connection after its greeting: knows whether the next command needs the auth prefix. */
class PjlinkSession {
  private pendingPrefix: string | undefined;

  private constructor(
    private readonly connection: LineConnection,
    private readonly settings: Settings,
    readonly usesAuth: boolean,
    prefix: string | undefined,
  ) {
    this.pendingPrefix = prefix;
  }

  static async open(settings: Settings): Promise<PjlinkSession> {
    const connection = await connect(settings);
    try {
      return await PjlinkSession.greet(connection, settings);
    } catch (error) {
      connection.destroy();
      throw error;
    }
  }

  private static async greet(connection: LineConnection, settings: Settings): Promise<PjlinkSession> {
    const { where, target } = settings;
    const context = { host: target.host, port: target.port };
    let line: Buffer;
    try {
      line = await connection.nextLine(
        settings.replyTimeoutMs,
        () => new AvcareError('PJLINK_TIMEOUT', `${where} accepted the connection but sent no PJLink greeting within ${settings.replyTimeoutMs} ms`, context),
      );
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) throw error;
      // Devices that allow one PJLink session at a time close new connections while another controller holds it.
      throw new AvcareError('PJLINK_CONNECT_FAILED', `${where} closed the connection before sending its PJLink greeting`, context, { cause: error });
    }
    const greeting = parseGreeting(decode(line));
    if ('garbled' in greeting) throw notPjlink(settings, 'greeting', line);
    if ('error' in greeting) throw authFailed(settings, `${where} refused the PJLink session (PJLINK ERRA)`);
    if (!greeting.auth) return new PjlinkSession(connection, settings, false, undefined);
    if (target.password === undefined) {
      throw authFailed(settings, `${where} asks for a PJLink password but none is configured`);
    }
    return new PjlinkSession(connection, settings, true, authPrefix(greeting.random, target.password));
  }

  get closed(): boolean {
    return this.connection.closed;
  }

  async ask(cls: PjlinkClass, body: string): Promise<Answer> {
    const command = buildCommand(cls, body);
    const stale = this.connection.discardPendingLines();
    // PJLink devices speak only when spoken to on TCP; a line that came before the command
    // cannot be its reply, and taking it as one would shift every answer after it.
    if (stale > 0) this.settings.log?.debug({ target: this.settings.where, lines: stale }, 'PJLink: dropped unsolicited lines');
    this.connection.write((this.pendingPrefix ?? '') + command);
    this.pendingPrefix = undefined;
    const line = await this.connection.nextLine(
      this.settings.replyTimeoutMs,
      () =>
        new AvcareError('PJLINK_TIMEOUT', `${this.settings.where} did not answer %${cls}${body} within ${this.settings.replyTimeoutMs} ms`, {
          host: this.settings.target.host,
          port: this.settings.target.port,
          command: body,
        }),
    );
    const response = parseResponse(decode(line));
    if ('authError' in response) throw authFailed(this.settings, `${this.settings.where} rejected the configured PJLink password (PJLINK ERRA)`);
    if ('garbled' in response) throw notPjlink(this.settings, body, line);
    if (response.command !== body) throw notPjlink(this.settings, body, line, `a reply to ${response.command}`);
    return 'error' in response ? { error: response.error } : { value: response.value };
  }

  destroy(): void {
    this.connection.destroy();
  }
}

/** The connection ended; the caller may reconnect. Internal: never leaves this module. */
class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

/**
 * Splits the TCP byte stream into CR-terminated lines and hands them out one at a time. Aborting
 * the query's signal ends the connection at once, whatever it is waiting for.
 */
class LineConnection {
  private buffer = Buffer.alloc(0);
  private readonly lines: Buffer[] = [];
  private waiter: { resolve: (line: Buffer) => void; reject: (error: Error) => void } | undefined;
  private ended: Error | undefined;
  private readonly onAbort = (): void => {
    this.finish(abortReason(this.settings.signal));
    this.socket.destroy();
  };

  constructor(
    private readonly socket: Socket,
    private readonly settings: Settings,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish(new ConnectionClosedError(`${settings.where} closed the connection`)));
    socket.on('close', () => this.finish(new ConnectionClosedError(`connection to ${settings.where} closed`)));
    socket.on('error', (error: Error) => this.finish(new ConnectionClosedError(`connection to ${settings.where} failed: ${error.message}`, { cause: error })));
    if (settings.signal?.aborted) this.onAbort();
    else settings.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  write(text: string): void {
    this.socket.write(text, 'utf8');
  }

  discardPendingLines(): number {
    return this.lines.splice(0).length;
  }

  /** Next complete line without its CR; rejects with timeoutError() when none comes in time. */
  nextLine(timeoutMs: number, timeoutError: () => Error): Promise<Buffer> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(timeoutError());
      }, timeoutMs);
      this.waiter = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  destroy(): void {
    this.finish(new ConnectionClosedError(`connection to ${this.settings.where} closed by avcare`));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    let end = this.buffer.indexOf(0x0d);
    while (end !== -1) {
      let line = this.buffer.subarray(0, end);
      // Some devices end lines with CR LF; the LF would otherwise start the next line.
      if (line[0] === 0x0a) line = line.subarray(1);
      this.buffer = this.buffer.subarray(end + 1);
      this.deliver(Buffer.from(line));
      end = this.buffer.indexOf(0x0d);
    }
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.finish(notPjlink(this.settings, 'reply', this.buffer, `more than ${MAX_LINE_BYTES} bytes without a CR`));
      this.socket.destroy();
    }
  }

  private deliver(line: Buffer): void {
    const waiter = this.waiter;
    if (waiter === undefined) {
      this.lines.push(line);
      return;
    }
    this.waiter = undefined;
    waiter.resolve(line);
  }

  /** Records why no more lines will come (first reason wins) and wakes a waiting reader. */
  private finish(reason: Error): void {
    this.ended ??= reason;
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.ended);
  }
}

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
      resolve(new LineConnection(socket, settings));
    };
    const onError = (error: NodeJS.ErrnoException): void =>
      fail(
        new AvcareError('PJLINK_CONNECT_FAILED', `cannot connect to ${where}: ${error.code ?? error.message}`, { host: target.host, port: target.port, errno: error.code }, {
          cause: error,
        }),
      );
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

function notPjlink(settings: Settings, what: string, raw: Buffer, detail?: string): AvcareError {
  const text = decode(raw.subarray(0, RAW_HEX_BYTES)).slice(0, PJLINK_MAX_TEXT_CHARS);
  const expected = detail ?? 'not a PJLink reply';
  return new AvcareError('PJLINK_PROTOCOL_ERROR', `${settings.where} answered ${what} with ${JSON.stringify(text)}: ${expected}`, {
    host: settings.target.host,
    port: settings.target.port,
    command: what,
    raw: text,
    rawHex: raw.subarray(0, RAW_HEX_BYTES).toString('hex'),
  });
}

function authFailed(settings: Settings, message: string): AvcareError {
  return new AvcareError('PJLINK_AUTH_FAILED', message, {
    host: settings.target.host,
    port: settings.target.port,
    passwordConfigured: settings.target.password !== undefined,
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('PJLink query aborted', { cause: reason });
}
