/**
 * The console's language: zh-CN or English, first from the reader's own choice (kept in this
 * browser), else from the browser's languages; switchable at any time. Fault messages and
 * self-help come from the catalog the agent uses (protocol/i18n), in the same language.
 */
import { createI18n } from 'vue-i18n';
import { localeFromPreferences, translator, type Locale, type Translator } from '../../../protocol/i18n/translate.js';
import { en } from './messages/en.js';
import { zhCN } from './messages/zh-CN.js';

const STORED_CHOICE = 'avcare.locale';

function initialLocale(): Locale {
  const stored = window.localStorage.getItem(STORED_CHOICE);
  if (stored === 'en' || stored === 'zh-CN') return stored;
  return localeFromPreferences(navigator.languages.length > 0 ? navigator.languages : [navigator.language]);
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
  // Missing keys are a bug the tests catch (each catalog has every key), not something to log in a school's browser.
  missingWarn: false,
  fallbackWarn: false,
});

export function currentLocale(): Locale {
  return i18n.global.locale.value;
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale;
  window.localStorage.setItem(STORED_CHOICE, locale);
  document.documentElement.lang = locale;
}

/** Fault messages and self-help in the reader's language, from the agent's own catalog. */
export function faultText(): Translator {
  return translator(currentLocale());
}
