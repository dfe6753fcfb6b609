import { describe, expect, it } from 'vitest';
import { SELF_HELP } from '../../protocol/index.js';
import { english, localeFromEnvironment, parseLocale, translator } from './i18n.js';
import { en } from './messages-en.js';
import { zhCN } from './messages-zh-CN.js';
import { SELF_HELP_ZH_CN } from './self-help-zh-CN.js';

/** Every leaf of a catalog, as [dotted key, message]. */
function leaves(catalog: object, prefix = ''): [string, string][] {
  return Object.entries(catalog).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[`${prefix}${key}`, value]] : leaves(value as object, `${prefix}${key}.`),
  );
}

const params = (message: string): string[] => [...message.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1] ?? '').sort();

describe('message catalogs', () => {
  const english = new Map(leaves(en));
  const chinese = new Map(leaves(zhCN));

  it('have the same keys in every locale', () => {
    expect([...chinese.keys()].sort()).toEqual([...english.keys()].sort());
  });

  it('use the same parameters for the same key, and every parameter of a message at least once', () => {
    const mismatched = [...english].filter(([key, message]) => params(message).join() !== params(chinese.get(key) ?? '').join());
    expect(mismatched.map(([key]) => key)).toEqual([]);
  });

  it('have no empty message and no parameter written another way', () => {
    for (const [key, message] of [...english, ...chinese]) {
      expect(message.trim(), key).not.toBe('');
      // i18next would print "{name}" or "${name}" literally: only {{name}} is a parameter.
      expect(message.replace(/\{\{\w+\}\}/g, ''), key).not.toMatch(/\{\w+\}|\$\{/);
    }
  });

  it('translate every self-help step, step for step', () => {
    for (const [code, steps] of Object.entries(SELF_HELP)) {
      const translated = SELF_HELP_ZH_CN[code as keyof typeof SELF_HELP_ZH_CN];
      expect(translated.length, code).toBe(steps.length);
      for (const step of translated) expect(step.trim(), code).not.toBe('');
    }
  });
});

describe('the translator', () => {
  it('renders a message with its parameters in the chosen language', () => {
    expect(english.t('faults.VISCA_POWER_ERROR', { device: 'Front PTZ' })).toBe('Front PTZ reports a power-circuit error');
    expect(translator('zh-CN').t('faults.VISCA_POWER_ERROR', { device: 'Front PTZ' })).toBe('Front PTZ 报告电源电路故障');
    // Parameters are shown as given: no HTML escaping of what a device said.
    expect(english.t('probe.selfHelp', { code: '<b>&"' })).toBe('What you can try for <b>&":');
    expect(translator('zh-CN').selfHelp('MICROPHONE_MUTED')[0]).toMatch(/静音键/);
    expect(english.selfHelp('NOT_A_CODE')).toEqual([]);
  });

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
