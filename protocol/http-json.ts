import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { AvcareError, ERROR_CODES, type ErrorCode } from './errors.js';
import { untrustedText } from './untrusted-text.js';

/** Where Debian and Ubuntu keep the system's trusted CAs (update-ca-certificates writes it). */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * The CAs a client trusts: Node's own list, the system's bundle when there is one (a school's
 * IT may have added its CA there), and a CA file the user named (`--ca`). Certificates are
 * verified against these, never pinned: a renewed server certificate keeps working.
 */
export function trustedCas(caFile?: string): string[] {
  const cas = [...rootCertificates];
  try {
    cas.push(readFileSync(SYSTEM_CA_BUNDLE, 'utf8'));
  } catch {
    // No system bundle (not Debian, or ca-certificates not installed): Node's own list stays.
  }
  if (caFile !== undefined) {
    try {
      cas.push(readFileSync(caFile, 'utf8'));
    } catch (error) {
      throw new AvcareError('CONFIG_UNREADABLE', `cannot read the CA file ${caFile}: ${(error as Error).message}`, { file: caFile }, { cause: error });
    }
  }
  return cas;
}

export interface JsonRequest {
  method: 'GET' | 'POST';
  /** Absolute URL (http:// or https://). */
  url: URL;
  body?: unknown;
  bearerToken?: string;
  /** CAs to verify an https server with (from trustedCas). */
  ca?: string[];
  timeoutMs?: number;
}

/** The largest answer read: the API's answers are small JSON. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * One JSON request to the avcare cloud over node:http(s), so a CA file can be given (fetch in
 * Node 20 cannot take one). An error answer `{error: {code, message}}` becomes an AvcareError
 * with that code when it is one of ours; a connection or TLS failure says what failed and where.
 */
export function requestJson<T>(request: JsonRequest): Promise<{ status: number; body: T }> {
  const { url } = request;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new AvcareError('INVALID_ARGUMENT', `${url.origin} is not an http:// or https:// URL`, { url: url.origin }));
  }
  const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body), 'utf8');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (request.bearerToken !== undefined) headers.authorization = `Bearer ${request.bearerToken}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: request.method, headers, timeout: request.timeoutMs ?? 15_000, ...(url.protocol === 'https:' && request.ca ? { ca: request.ca } : {}) }, (response) => {
      readBody(response).then((text) => {
        const status = response.statusCode ?? 0;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          reject(new AvcareError('CLOUD_REQUEST_FAILED', `${url.origin} answered ${status} with something that is not the avcare API`, { status }));
          return;
        }
        if (status >= 400) {
          reject(apiError(parsed, status));
          return;
        }
        resolve({ status, body: parsed as T });
      }, reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${request.timeoutMs ?? 15_000} ms`)));
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const tlsHint = /certificate|self[- ]signed|CERT_|unable to verify/i.test(`${error.code ?? ''} ${error.message}`)
        ? ' (the server\'s certificate is not trusted: give its CA with --ca FILE)'
        : '';
      reject(new AvcareError('CLOUD_UNREACHABLE', `cannot reach the avcare cloud at ${url.origin}: ${error.message}${tlsHint}`, { url: url.origin }, { cause: error }));
    });
    outgoing.end(payload);
  });
}

/**
 * Reads a server-sent event stream (text/event-stream) and calls `onEvent` with each event's data
 * until the server closes it or `onEvent` returns true. An error answer is thrown as requestJson
 * throws it.
 */
export function streamEvents(request: Omit<JsonRequest, 'method' | 'body' | 'timeoutMs'>, onEvent: (data: string) => boolean | void): Promise<void> {
  const { url } = request;
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (request.bearerToken !== undefined) headers.authorization = `Bearer ${request.bearerToken}`;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = send(url, { method: 'GET', headers, ...(url.protocol === 'https:' && request.ca ? { ca: request.ca } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 400) {
        readBody(response).then((text) => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = null;
          }
          reject(apiError(parsed, status));
        }, reject);
        return;
      }
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data.length > 0 && onEvent(data) === true) {
            response.destroy();
            resolve();
            return;
          }
        }
      });
      response.on('end', () => resolve());
      response.on('close', () => resolve());
      response.on('error', reject);
    });
    outgoing.on('error', (error) => reject(new AvcareError('CLOUD_UNREACHABLE', `cannot reach the avcare cloud at ${url.origin}: ${error.message}`, { url: url.origin }, { cause: error })));
    outgoing.end();
  });
}

function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy(new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function apiError(parsed: unknown, status: number): AvcareError {
  const error = (parsed as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' && error.code in ERROR_CODES ? (error.code as ErrorCode) : 'CLOUD_REQUEST_FAILED';
  // The message comes from the network: printable and bounded before it reaches a terminal.
  const message = untrustedText(typeof error?.message === 'string' ? error.message : `HTTP ${status}`, 500) ?? `HTTP ${status}`;
  // A hint the cloud fitted to this caller (their role) replaces the code's general one.
  const hint = typeof error?.hint === 'string' ? untrustedText(error.hint, 500) : undefined;
  return new AvcareError(code, message, { status }, hint === undefined ? undefined : { hint });
}
