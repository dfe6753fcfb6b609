import type { AgentConfig } from './config.js';

export const SCRUBBED = '[redacted]';

/**
 * Secrets shorter than this are not replaced verbatim: a PJLink password "12" would turn every
 * "12" of a log line (times, lamp hours) into [redacted] and make the excerpt useless. The
 * key=value patterns below still catch them where they are named.
 */
export const MIN_VERBATIM_SECRET_CHARS = 3;

/** Keys whose value is a secret wherever they appear: `password=x`, `"token":"x"`, `secret: x`. */
const SECRET_KEY = String.raw`(?:[A-Za-z0-9]+[_.-])*(?:pass(?:word|wd|phrase)?|pwd|secret|client[_-]?secret|(?:access[_-]?|auth[_-]?|refresh[_-]?|api[_-]?)?token|api[_-]?key|credentials?)`;

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // scheme://user:password@host (and scheme://token@host): the whole userinfo, as redactUrl() does.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, `$1${SCRUBBED}@`],
  // "password":"x" in JSON and password="x y" or password='x' in text: the quoted value, spaces and all.
  [new RegExp(String.raw`(["']?\b${SECRET_KEY}["']?\s*[:=]\s*)(["'])(?:(?!\2)[^\\]|\\.)*\2`, 'gi'), `$1$2${SCRUBBED}$2`],
  // password=x, token: x, ?token=x&: an unquoted value up to a separator.
  [new RegExp(String.raw`(\b${SECRET_KEY}["']?\s*[:=]\s*)(?![\s"']|\[redacted\])[^\s&;,"'}\]]+`, 'gi'), `$1${SCRUBBED}`],
  // HTTP authorization schemes written out in an error message.
  [/\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=-]{6,}/g, `$1 ${SCRUBBED}`],
  // avcare's own secrets (API and enrollment tokens, MQTT secrets) carry a prefix: wherever one shows, it goes.
  [/\bavc_(?:at|et|ms|bs)_[A-Za-z0-9_-]{16,}/g, SCRUBBED],
];

/**
 * Removes what looks like a secret from one line of free text (a log line, an error message):
 * URL userinfo, values of password/token/secret keys, authorization headers, and every
 * `knownSecrets` string (the configured broker and PJLink passwords) verbatim, also as it appears
 * JSON-escaped or URL-encoded. Pure; idempotent.
 */
export function scrubSecrets(line: string, knownSecrets: readonly string[] = []): string {
  let scrubbed = line;
  for (const form of verbatimForms(knownSecrets)) scrubbed = scrubbed.split(form).join(SCRUBBED);
  for (const [pattern, replacement] of PATTERNS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** Every string in a JSON-like value with the known secrets replaced; keys, numbers and shape untouched. */
export function scrubKnownSecretsDeep<T>(value: T, knownSecrets: readonly string[]): T {
  const forms = verbatimForms(knownSecrets);
  if (forms.length === 0) return value;
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return forms.reduce((text, form) => text.split(form).join(SCRUBBED), node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
    return node;
  };
  return walk(value) as T;
}

/** The secrets of a configuration: what must never leave the PC in a log excerpt. */
export function configuredSecrets(config: Pick<AgentConfig, 'broker' | 'pjlink'>): string[] {
  const secrets = [config.broker.password, ...config.pjlink.map((target) => target.password)];
  const userinfo = config.broker.url === undefined ? undefined : /^[a-z]+:\/\/([^@/]*)@/i.exec(config.broker.url)?.[1];
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo !== undefined && colon >= 0) secrets.push(safeDecode(userinfo.slice(colon + 1)));
  return secrets.filter((secret): secret is string => secret !== undefined);
}

function verbatimForms(knownSecrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of knownSecrets) {
    if (secret.length < MIN_VERBATIM_SECRET_CHARS) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so a secret that contains another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Not percent-encoded after all: the raw text is the secret.
    return text;
  }
}
