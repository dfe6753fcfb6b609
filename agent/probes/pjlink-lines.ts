/**
 * The PJLink byte stream as lines, the way devices in the field really send it: a reply may come
 * with a shell prompt after it (`\n>`), a trailing NUL, CR LF instead of CR, leading whitespace,
 * several replies in one read or one reply in many TCP segments. The specification's CR-only
 * framing is one case among these.
 */
import type { Socket } from 'node:net';

/** The longest PJLink reply is about 140 bytes; this much without a line end is not PJLink. */
export const MAX_LINE_BYTES = 1024;

/**
 * Splits what arrived so far into lines (CR or LF ends one) and keeps the unfinished rest. Each
 * line loses NULs and surrounding whitespace; a line that is only a prompt (`>`, `#`, `$`) or
 * empty is dropped; text in front of a PJLink token (`%1POWR=...`, `PJLINK ...`) is dropped too,
 * so `> %1POWR=1` reads as `%1POWR=1`. A line without a token is kept as it is: it is a garbled
 * reply, which the caller reports with its bytes.
 */
export function extractLines(buffer: Buffer): { lines: Buffer[]; rest: Buffer } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < buffer.length; index += 1) {
    const byte = buffer[index];
    if (byte !== 0x0d && byte !== 0x0a) continue;
    const line = cleanLine(buffer.subarray(start, index));
    if (line !== undefined) lines.push(line);
    start = index + 1;
  }
  return { lines, rest: Buffer.from(buffer.subarray(start)) };
}

const PROMPT_ONLY = /^[>#$\s\0]*$/;
const TOKEN = /%[12][A-Za-z0-9]{4}=|PJLINK(?: |$)/i;

function cleanLine(raw: Buffer): Buffer | undefined {
  // latin1 keeps one byte per character, so offsets in the text are offsets in the bytes.
  const text = raw.toString('latin1');
  if (PROMPT_ONLY.test(text)) return undefined;
  const token = TOKEN.exec(text);
  const from = token ? token.index : 0;
  // NULs and ASCII blanks that pad a reply go (not 0xA0: it may end a UTF-8 character of a class 2
  // name); a NUL inside a value stays, to be shown as the garbage it is.
  return Buffer.from(text.slice(from).replace(/^[\0\t\v\f ]+|[\0\t\v\f ]+$/g, ''), 'latin1');
}

/** The connection ended; the caller may reconnect. Internal to the PJLink client. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

/**
 * Hands out the lines of one TCP connection one at a time. Aborting the signal ends the
 * connection at once, whatever it is waiting for.
 */
export class LineConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly lines: Buffer[] = [];
  private waiter: { resolve: (line: Buffer) => void; reject: (error: Error) => void } | undefined;
  private ended: Error | undefined;
  private readonly onAbort = (): void => {
    this.finish(abortReason(this.signal));
    this.socket.destroy();
  };

  constructor(
    private readonly socket: Socket,
    private readonly where: string,
    private readonly signal: AbortSignal | undefined,
    /** Called with the bytes when a line grows past MAX_LINE_BYTES: the connection is then ended. */
    private readonly overlong: (raw: Buffer) => Error,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish(new ConnectionClosedError(`${where} closed the connection`)));
    socket.on('close', () => this.finish(new ConnectionClosedError(`connection to ${where} closed`)));
    socket.on('error', (error: Error) => this.finish(new ConnectionClosedError(`connection to ${where} failed: ${error.message}`, { cause: error })));
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
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

  /** Next line; rejects with timeoutError() when none comes in time, with ConnectionClosedError when the connection ends. */
  nextLine(timeoutMs: number, timeoutError: () => Error): Promise<Buffer> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(timeoutError());
      }, Math.max(0, timeoutMs));
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
    this.finish(new ConnectionClosedError(`connection to ${this.where} closed by avcare`));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const { lines, rest } = extractLines(Buffer.concat([this.buffer, chunk]));
    this.buffer = rest;
    for (const line of lines) this.deliver(line);
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.finish(this.overlong(this.buffer));
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
    this.signal?.removeEventListener('abort', this.onAbort);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.ended);
  }
}

export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('PJLink query aborted', { cause: reason });
}
