import { readFileSync } from 'node:fs';
import { AvcareError, isLoopbackAddress } from '../protocol/index.js';

/**
 * Credentials (passwords, tokens, enrollment, agents' MQTT secrets) travel only over TLS or
 * within this machine; a reverse proxy on this machine that terminates TLS therefore keeps working.
 */
export interface TransportPolicy {
  /** The cloud serves TLS (https and mqtts). */
  tls: boolean;
  /** `--insecure-plaintext`: credentials are accepted over plain connections from anywhere. */
  allowPlaintextCredentials: boolean;
}

/** Whether credentials may arrive over this connection. */
export function credentialsAllowed(policy: Pick<TransportPolicy, 'allowPlaintextCredentials'>, connection: { encrypted: boolean; remoteAddress: string | undefined }): boolean {
  return connection.encrypted || policy.allowPlaintextCredentials || isLoopbackAddress(connection.remoteAddress);
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Reads the certificate chain and key (PEM) once at start; a missing or unreadable file is named. */
export function readTlsFiles(certFile: string, keyFile: string): TlsFiles {
  const read = (path: string, what: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new AvcareError('CONFIG_UNREADABLE', `cannot read the TLS ${what} ${path} (${flag}): ${(error as Error).message}`, { path }, { cause: error });
    }
  };
  return { cert: read(certFile, 'certificate', '--tls-cert'), key: read(keyFile, 'key', '--tls-key') };
}
