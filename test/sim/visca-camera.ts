import { SerialPort } from 'serialport';
import { ViscaFrameSplitter } from '../../agent/probes/visca.js';
import { viscaCameraLogic, type ViscaCameraBehaviour, type ViscaCameraMode } from './visca-camera-logic.js';

export type { ViscaCameraMode } from './visca-camera-logic.js';

export interface ViscaCameraOptions extends ViscaCameraBehaviour {
  /** Wait before each reply, like a slow camera or a long cable with a converter. */
  delayMs?: number;
  baudRate?: number;
}

export interface SimulatedViscaCamera {
  setMode(mode: ViscaCameraMode): void;
  close(): Promise<void>;
  /** Every packet the camera received, in order. */
  readonly received: Buffer[];
}

/** A VISCA camera on one end of a pty pair. */
export async function startViscaCamera(path: string, options: ViscaCameraOptions): Promise<SimulatedViscaCamera> {
  const logic = viscaCameraLogic(options);
  const port = new SerialPort({ path, baudRate: options.baudRate ?? 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  port.on('error', (error) => {
    // A test that breaks the line on purpose should not crash the runner; it sees the effect instead.
    console.warn(`simulated VISCA camera on ${path}: ${error.message}`);
  });

  const received: Buffer[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const splitter = new ViscaFrameSplitter();

  const send = (bytes: Uint8Array): void => {
    const write = (): void => {
      if (port.isOpen) port.write(Buffer.from(bytes));
    };
    if (!options.delayMs) return write();
    const timer = setTimeout(() => {
      timers.delete(timer);
      write();
    }, options.delayMs);
    timers.add(timer);
  };

  port.on('data', (chunk: Buffer) => {
    for (const packet of splitter.feed(chunk).packets) {
      received.push(Buffer.from(packet));
      for (const reply of logic.answer(packet)) send(reply);
    }
  });

  return {
    received,
    setMode(next) {
      logic.mode = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!port.isOpen) return;
      await new Promise<void>((resolve, reject) => port.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
