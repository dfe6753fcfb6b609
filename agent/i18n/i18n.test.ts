import { describe, expect, it } from 'vitest';
import { localeFromEnvironment, parseLocale } from './i18n.js';

describe('the agent\'s language', () => {
  it('picks Chinese from zh_* locales, LC_ALL over LANG, and English otherwise', () => {
    expect(localeFromEnvironment({ LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(localeFromEnvironment({ LANG: 'zh_TW.UTF-8' })).toBe('zh-CN');
    expect(localeFromEnvironment({ LC_ALL: 'C', LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(localeFromEnvironment({ LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' })).toBe('zh-CN');
    expect(localeFromEnvironment({ LANG: 'en_US.UTF-8' })).toBe('en');
    expect(localeFromEnvironment({})).toBe('en');
  });

  it('reads --lang as people type it and refuses other languages', () => {
    expect(parseLocale('zh-CN')).toBe('zh-CN');
    expect(parseLocale('zh_cn')).toBe('zh-CN');
    expect(parseLocale('zh')).toBe('zh-CN');
    expect(parseLocale('en-US')).toBe('en');
    expect(() => parseLocale('fr')).toThrow('--lang "fr" is not a language the agent speaks: use zh-CN or en');
  });
});
