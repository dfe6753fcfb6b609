/**
 * The language the agent speaks to a person: Simplified Chinese or English, chosen by `--lang`
 * or else by the environment (LC_ALL, LC_MESSAGES, LANG: zh_* gives Chinese). Messages are data
 * (messages-en.ts, messages-zh-CN.ts) rendered by i18next; JSON output, fault codes and logs do not
 * go through here and stay language-neutral.
 */
import { createInstance, type i18n } from 'i18next';
import { AvcareError, SELF_HELP, type FaultCode } from '../../protocol/index.js';
import type { LeafKeys, MessageAt, ParamArgs, ParamValue } from './catalog-types.js';
import { en } from './messages-en.js';
import { zhCN } from './messages-zh-CN.js';
import { SELF_HELP_ZH_CN } from './self-help-zh-CN.js';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export type MessageKey = LeafKeys<typeof en>;
export type FaultMessageKey = Extract<MessageKey, `faults.${string}`>;
export type { ParamValue } from './catalog-types.js';

export interface Translator {
  readonly locale: Locale;
  // Properties, not methods: callers destructure them (`const { t } = out()`), which binds nothing.
  readonly t: <Key extends MessageKey>(key: Key, ...params: ParamArgs<MessageAt<typeof en, Key>>) => string;
  /** A key and parameters kept from earlier (a fault's message): checked when they were made. */
  readonly stored: (key: MessageKey, params: Readonly<Record<string, ParamValue>>) => string;
  /** The self-help steps for a fault code, in this language; none for an unknown code. */
  readonly selfHelp: (code: string) => readonly string[];
}

const SELF_HELP_BY_LOCALE: Record<Locale, Readonly<Record<FaultCode, readonly string[]>>> = { en: SELF_HELP, 'zh-CN': SELF_HELP_ZH_CN };

/** `--lang` as typed: zh, zh-CN, zh_CN, en, en-US... */
export function parseLocale(value: string): Locale {
  const normalised = value.trim().replace('_', '-').toLowerCase();
  if (normalised === 'zh' || normalised.startsWith('zh-')) return 'zh-CN';
  if (normalised === 'en' || normalised.startsWith('en-')) return 'en';
  throw new AvcareError('INVALID_ARGUMENT', `--lang "${value}" is not a language the agent speaks: use zh-CN or en`, { value });
}

/**
 * The POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG. Any zh_* locale (zh_CN,
 * zh_TW, zh_SG) reads Chinese; C, POSIX and everything else read English.
 */
export function localeFromEnvironment(environment: NodeJS.ProcessEnv = process.env): Locale {
  const value = environment.LC_ALL || environment.LC_MESSAGES || environment.LANG || '';
  return /^zh([_.@-]|$)/i.test(value) ? 'zh-CN' : 'en';
}

const instances = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  const existing = instances.get(locale);
  if (existing) return existing;
  const engine: i18n = createInstance();
  void engine.init({
    lng: locale,
    fallbackLng: false,
    resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
    initAsync: false,
    // Output goes to a terminal, never to HTML: device strings are made printable by the callers.
    interpolation: { escapeValue: false },
    nsSeparator: false,
    returnNull: false,
  });
  const made: Translator = {
    locale,
    t: (key, ...params) => engine.t(key, { ...(params[0] ?? {}), lng: locale }),
    stored: (key, params) => engine.t(key, { ...params, lng: locale }),
    selfHelp: (code) => (SELF_HELP_BY_LOCALE[locale] as Readonly<Record<string, readonly string[]>>)[code] ?? [],
  };
  instances.set(locale, made);
  return made;
}

/** English: what goes into tickets, JSON and logs beside the code and parameters. */
export const english: Translator = translator('en');

let current: Translator = english;

/**
 * The language of this process's human output. The command line sets it once, from `--lang` or
 * the environment; code that runs outside the command line (tests, the cloud's dev stack) speaks
 * English, so its output does not depend on the machine it runs on.
 */
export function useLocale(locale: Locale): void {
  current = translator(locale);
}

export function out(): Translator {
  return current;
}
