/**
 * The console's one way to the API: same origin, the session cookie sent by the browser, the CSRF
 * token on every change, and every refusal turned into an ApiFailure with the API's code, message
 * and hint (which the pages show as text).
 */
export class ApiFailure extends Error {
  override readonly name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | undefined,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSignedOut: (() => void) | undefined;

export function useCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called once when the API says the session is gone (idle timeout, signed out elsewhere, account disabled). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

export async function api<T>(path: string, options: { method?: 'GET' | 'POST'; body?: unknown; query?: Query } = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiFailure(0, 'CLOUD_UNREACHABLE', 'the cloud cannot be reached', 'Check the network connection, then try again.');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ApiFailure(response.status, 'BAD_ANSWER', `the cloud answered HTTP ${response.status} with something that is not JSON`, undefined);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; hint?: string } }).error ?? {};
    const failure = new ApiFailure(response.status, error.code ?? 'HTTP_' + response.status, error.message ?? `HTTP ${response.status}`, error.hint);
    if (response.status === 401 && !path.startsWith('/api/auth/')) onSignedOut?.();
    throw failure;
  }
  return body as T;
}

export const post = <T>(path: string, body: unknown = {}): Promise<T> => api<T>(path, { method: 'POST', body });
