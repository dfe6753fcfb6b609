/**
 * The one message catalog the agent and the console share: the same `messageKey` + `params` a PC
 * stores with a fault render in the terminal and in the browser, in Simplified Chinese or English.
 * Messages are data (messages-en.ts, messages-zh-CN.ts) whose only syntax is `{{name}}`; rendering
 * them is a substitution, so neither side needs a translation engine and both read them alike.
 * Nothing here escapes: the terminal prints text, and the console puts it into text nodes.
 */
import type { FaultCode } from '../fault-codes.js';
import { SELF_HELP } from '../self-help.js';
import type { LeafKeys, MessageAt, ParamArgs, ParamValue } from './catalog-types.js';
import { en } from './messages-en.js';
import { zhCN } from './messages-zh-CN.js';
import { SELF_HELP_ZH_CN } from './self-help-zh-CN.js';

export const LOCALES = ['zh-CN', 'en'] as const;
export type Locale = (typeof LOCALES)[number];

export type MessageKey = LeafKeys<typeof en>;
export type FaultMessageKey = Extract<MessageKey, `faults.${string}`>;
export type { MessageAt, ParamArgs, ParamValue } from './catalog-types.js';
export type EnglishCatalog = typeof en;

export interface Translator {
  readonly locale: Locale;
  // Properties, not methods: callers destructure them (`const { t } = out()`), which binds nothing.
  readonly t: <Key extends MessageKey>(key: Key, ...params: ParamArgs<MessageAt<typeof en, Key>>) => string;
  /** A key and parameters kept from earlier (a fault's message, read from a PC or the database). */
  readonly stored: (key: string, params: Readonly<Record<string, ParamValue>>) => string;
  /** The self-help steps for a fault code, in this language; none for an unknown code. */
  readonly selfHelp: (code: string) => readonly string[];
}

type Tree = { readonly [key: string]: string | Tree };

const CATALOGS: Record<Locale, Tree> = { en, 'zh-CN': zhCN };
const SELF_HELP_BY_LOCALE: Record<Locale, Readonly<Record<FaultCode, readonly string[]>>> = { en: SELF_HELP, 'zh-CN': SELF_HELP_ZH_CN };

/** A language tag as a browser or a person gives it (zh, zh-CN, zh_TW, en-US): the locale we have for it, if any. */
export function localeOfTag(tag: string): Locale | undefined {
  const normalised = tag.trim().replace('_', '-').toLowerCase();
  if (normalised === 'zh' || normalised.startsWith('zh-')) return 'zh-CN';
  if (normalised === 'en' || normalised.startsWith('en-')) return 'en';
  return undefined;
}

/** The first of a browser's preferred languages that we speak; English when none is. */
export function localeFromPreferences(tags: readonly string[]): Locale {
  for (const tag of tags) {
    const locale = localeOfTag(tag);
    if (locale) return locale;
  }
  return 'en';
}

/**
 * `{{name}}` replaced by its parameter. A parameter the message names but nobody gave stays as
 * written, so a mistake shows instead of turning into a silent blank.
 */
export function formatMessage(message: string, params: Readonly<Record<string, ParamValue>> = {}): string {
  return message.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

function lookUp(catalog: Tree, key: string): string | undefined {
  let node: string | Tree | undefined = catalog;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

const instances = new Map<Locale, Translator>();

export function translator(locale: Locale): Translator {
  const existing = instances.get(locale);
  if (existing) return existing;
  // A key this catalog lacks (a newer agent's fault on an older cloud) reads in English, then as the key itself.
  const render = (key: string, params: Readonly<Record<string, ParamValue>>): string => formatMessage(lookUp(CATALOGS[locale], key) ?? lookUp(en, key) ?? key, params);
  const made: Translator = {
    locale,
    t: (key, ...params) => render(key, (params[0] ?? {})),
    stored: render,
    selfHelp: (code) => (Object.hasOwn(SELF_HELP_BY_LOCALE[locale], code) ? SELF_HELP_BY_LOCALE[locale][code as FaultCode] : []),
  };
  instances.set(locale, made);
  return made;
}

/** English: what goes into tickets, JSON and logs beside the code and parameters. */
export const english: Translator = translator('en');
