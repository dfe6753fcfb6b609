/**
 * The language the agent speaks to a person: Simplified Chinese or English, chosen by `--lang`
 * or else by the environment (LC_ALL, LC_MESSAGES, LANG: zh_* gives Chinese). The messages are the
 * catalog the console shares (protocol/i18n/); JSON output, fault codes and logs do not go through
 * here and stay language-neutral.
 */
import { AvcareError } from '../../protocol/index.js';
import { english, localeOfTag, translator, type Locale, type Translator } from '../../protocol/i18n/translate.js';

export { english, LOCALES, translator } from '../../protocol/i18n/translate.js';
export type { FaultMessageKey, Locale, MessageKey, ParamValue, Translator } from '../../protocol/i18n/translate.js';

/** `--lang` as typed: zh, zh-CN, zh_CN, en, en-US... */
export function parseLocale(value: string): Locale {
  const locale = localeOfTag(value);
  if (locale) return locale;
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
