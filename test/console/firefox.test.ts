/**
 * The console in Firefox (Debian's ESR, over WebDriver BiDi): it loads under the strict CSP, speaks
 * the browser's language, signs in and shows the fleet, at a phone's width too. The full journeys
 * run in Chromium (console.test.ts); this proves the same build works in the other engine.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type RunningCloud } from '../../cloud/main.js';
import { eventually, operatorPasswordFile, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';
import { openFirefox, type FirefoxPage } from '../helpers/firefox.js';
import { TEST_SCRYPT } from '../helpers/security.js';

let cloud: RunningCloud;
let baseUrl: string;
const opened: FirefoxPage[] = [];

beforeAll(async () => {
  cloud = await startCloud({ host: '127.0.0.1', httpPort: 0, mqttPort: 0, dataDir: mkdtempSync(join(tmpdir(), 'avcare-firefox-cloud-')), adminPasswordFile: operatorPasswordFile(), scryptCost: TEST_SCRYPT, reflector: { enabled: false }, testSchedule: { enabled: false } });
  baseUrl = cloud.httpUrl.replace(/\/$/, '');
}, 60_000);

afterAll(async () => {
  for (const page of opened) await page.close();
  await cloud?.stop();
});

/** The page's answer to `expression` once it gives something, as a person waits for a page to show. */
function until<T>(page: FirefoxPage, expression: string, what: string): Promise<T> {
  return eventually(async () => (await page.evaluate<T | null>(expression)) || undefined, 15_000, `Firefox to show ${what}`);
}

const heading = "document.querySelector('h1')?.textContent ?? null";

describe('the console in Firefox', () => {
  it('opens in Chinese for a zh-CN Firefox, signs in and shows the fleet at a phone\'s width', async () => {
    const page = await openFirefox({ locale: 'zh-CN', width: 375, height: 812 });
    opened.push(page);
    await page.navigate(`${baseUrl}/sign-in`);
    expect(await until<string>(page, heading, 'the sign-in page')).toBe('登录 avcare');
    // As a person types: the value, then the input event Vue listens for.
    const type = (selector: string, value: string) => `(() => { const input = document.querySelector('${selector}'); input.value = ${JSON.stringify(value)}; input.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`;
    await page.evaluate(type('#sign-in-name', 'operator'));
    await page.evaluate(type('#sign-in-password', TEST_OPERATOR_PASSWORD));
    await page.evaluate("(() => { document.querySelector('[data-test=sign-in]').click(); return true; })()");
    expect(await until<string>(page, "location.pathname === '/fleet' ? document.querySelector('h1')?.textContent ?? null : null", 'the fleet')).toBe('设备总览');
    // No sideways scrolling on a phone, and the session is a cookie the page cannot read.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(await page.evaluate<string>('document.cookie')).toBe('');
  }, 90_000);
});
