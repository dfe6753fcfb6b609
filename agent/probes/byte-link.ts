/**
 * The few operations the VISCA client needs from a transport: a serial port (serial-link.ts), a
 * UDP socket with or without Sony's header, or a TCP stream (visca-ip-link.ts). The byte-level
 * VISCA code is the same over all of them.
 */
export interface ByteLink {
  /** Resolves once the bytes have been handed to the OS. */
  write(bytes: Uint8Array): Promise<void>;
  /** Returns a function that removes the listener. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /**
   * Transports with their own framing (Sony's header) report a datagram they cannot read here
   * rather than passing its bytes on, where they could pass for a VISCA packet.
   */
  onUnreadable?(listener: (raw: Uint8Array, reason: string) => void): () => void;
  /** Idempotent. */
  close(): Promise<void>;
}
