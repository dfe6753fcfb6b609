import { describe, expect, it } from 'vitest';
import { SELF_HELP } from '../self-help.js';
import { english, formatMessage, localeFromPreferences, translator } from './translate.js';
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
      // formatMessage would print "{name}" or "${name}" literally: only {{name}} is a parameter.
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

  it('renders a stored key in the reader\'s language, English for a key only English has, the key itself otherwise', () => {
    expect(translator('zh-CN').stored('faults.VISCA_POWER_ERROR', { device: 'PTZ' })).toBe('PTZ 报告电源电路故障');
    expect(translator('zh-CN').stored('not.a.key', {})).toBe('not.a.key');
    expect(translator('zh-CN').stored('faults', {})).toBe('faults');
    expect(formatMessage('{{a}} and {{ b }} but {{c}}', { a: 1, b: 'two' })).toBe('1 and two but {{c}}');
    // Inherited names are not parameters: a message cannot reach Object.prototype.
    expect(formatMessage('{{constructor}}', {})).toBe('{{constructor}}');
  });

  it('picks the first of a browser\'s languages that it speaks, English otherwise', () => {
    expect(localeFromPreferences(['fr-FR', 'zh-TW', 'en'])).toBe('zh-CN');
    expect(localeFromPreferences(['en-GB', 'zh-CN'])).toBe('en');
    expect(localeFromPreferences(['de'])).toBe('en');
    expect(localeFromPreferences([])).toBe('en');
  });
});
