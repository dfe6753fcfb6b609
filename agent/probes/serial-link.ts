import type { SerialPort } from 'serialport';
import { AvcareError } from '../../protocol/index.js';
import type { ByteLink } from './byte-link.js';

/** A serial port as the VISCA client sees it; tests use MockSerialLink, so protocol code never touches the platform. */
export type SerialLink = ByteLink;

/**
 * Opens `path` at `baudRate` 8N1 without flow control (VISCA's RS-232 wiring carries no
 * RTS/CTS). Fails with SERIAL_OPEN_FAILED naming the path.
 */
export async function openSerialLink(path: string, baudRate: number, signal?: AbortSignal): Promise<SerialLink> {
  signal?.throwIfAborted();
  // Loaded on first use: most rooms configure no serial camera, and the agent's footprint counts.
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({
    path,
    baudRate,
    dataBits: 8,
    stopBits: 1,
    parity: 'none',
    rtscts: false,
    xon: false,
    xoff: false,
    autoOpen: false,
  });
  const link = new SerialPortLink(port);
  try {
    await abortable(link.open(), signal, () => void link.close());
    // Bytes received before this open (noise while a camera powers up, an answer to a previous
    // cycle held by the adapter) must not be taken for the answer to this cycle's first inquiry.
    await callbackToPromise((done) => port.flush(done));
  } catch (error) {
    await link.close();
    // An abort is the caller's decision, not a fault of the port: pass its reason through.
    if (signal?.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AvcareError('SERIAL_OPEN_FAILED', `cannot open serial port ${path}: ${reason}`, { path, baudRate }, { cause: error });
  }
  return link;
}

class SerialPortLink implements SerialLink {
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();
  /** The stream reports I/O failures as 'error' events; kept so the next write can report it. */
  private lastError: Error | undefined;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      for (const listener of this.listeners) listener(chunk);
    });
    port.on('error', (error: Error) => {
      this.lastError = error;
    });
  }

  open(): Promise<void> {
    this.opening = callbackToPromise((done) => this.port.open(done));
    return this.opening;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.lastError !== undefined) throw this.lastError;
    await callbackToPromise((done) => this.port.write(Buffer.from(bytes), done));
    await callbackToPromise((done) => this.port.drain(done));
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closing ??= this.closePort();
    return this.closing;
  }

  private async closePort(): Promise<void> {
    this.listeners.clear();
    // An aborted open may still be in flight: wait for it so its file descriptor is not leaked.
    // Its failure, if any, was already reported to whoever called openSerialLink.
    if (this.opening !== undefined) await this.opening.then(noop, noop);
    if (!this.port.isOpen) return;
    await callbackToPromise((done) => this.port.close(done));
  }
}

/** An in-memory link for unit tests: `emit()` plays bytes from the device, `writes` records what was sent. */
export class MockSerialLink implements SerialLink {
  readonly writes: Uint8Array[] = [];
  closed = false;
  /** Called after each write; a test can answer from here like a device would. */
  respond: ((written: Uint8Array, link: MockSerialLink) => void) | undefined;
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();

  get lastWrite(): Uint8Array | undefined {
    return this.writes.at(-1);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('write on a closed MockSerialLink'));
    const copy = Uint8Array.from(bytes);
    this.writes.push(copy);
    this.respond?.(copy, this);
    return Promise.resolve();
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(bytes: Uint8Array | readonly number[]): void {
    const chunk = Uint8Array.from(bytes);
    for (const listener of this.listeners) listener(chunk);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    return Promise.resolve();
  }
}

function noop(): void {
  // Deliberately nothing: see the call site.
}

function callbackToPromise(start: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((error) => (error ? reject(error) : resolve()));
  });
}

/** Rejects with the signal's reason as soon as it aborts; `onLateAbort` cleans up the work left running. */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, onLateAbort: () => void): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      onLateAbort();
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
