/// <reference lib="dom" />
/**
 * The console in a real browser (headless Chromium through playwright-core) against a real cloud
 * and a real agent: sign-in with the one-time password, a live fault that becomes a ticket and is
 * resolved with a report, a consented remote session seen from both sides, both languages, a
 * device named like an attack, scopes, CSRF, and axe-core's accessibility rules.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, screenshot, axeViolations, type WatchedPage } from '../helpers/browser.js';
import { accepted, messagesFrom } from '../store/store-messages.js';
import { PEOPLE, startInstallation, XSS_NAME, type Installation } from './console-harness.js';

const NEW_OPERATOR_PASSWORD = 'operator chose this passphrase';

let browser: Browser;
let site: Installation;
const opened: WatchedPage[] = [];

async function signInAs(page: Page, name: string, password: string): Promise<void> {
  await page.goto(`${site.baseUrl}/sign-in`);
  await page.locator('#sign-in-name').fill(name);
  await page.locator('#sign-in-password').fill(password);
  await page.locator('[data-test=sign-in]').click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
}

async function person(who: keyof typeof PEOPLE | 'operator', options: { locale?: string; width?: number; height?: number } = {}): Promise<WatchedPage> {
  const watched = await openPage(browser, options);
  opened.push(watched);
  const { name, password } = who === 'operator' ? { name: 'operator', password: NEW_OPERATOR_PASSWORD } : PEOPLE[who];
  await signInAs(watched.page, name, password);
  return watched;
}

beforeAll(async () => {
  site = await startInstallation();
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

describe('the console in a browser', () => {
  it('signs the operator in with the one-time password and has them choose their own first', async () => {
    const watched = await openPage(browser);
    opened.push(watched);
    const { page } = watched;
    await page.goto(site.baseUrl);
    await page.waitForURL(/\/sign-in/);
    await page.locator('#sign-in-name').fill('operator');
    await page.locator('#sign-in-password').fill(site.oneTimePassword);
    await page.locator('[data-test=sign-in]').click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Choose your own password');
    // Nothing else answers until then: the API refuses the fleet to this session.
    expect(await page.evaluate(async () => (await fetch('/api/agents')).status)).toBe(403);
    await page.locator('#new-password').fill(NEW_OPERATOR_PASSWORD);
    await page.locator('#repeat-password').fill(NEW_OPERATOR_PASSWORD);
    await page.locator('[data-test=choose-password]').click();
    await page.waitForURL(/\/fleet/);
    await expect.poll(() => page.locator('[data-test=who]').textContent()).toContain('operator');
    // The session is a cookie the page's script cannot read.
    expect(await page.evaluate(() => document.cookie)).toBe('');
    const cookies = await watched.context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'avcare_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await site.populate(NEW_OPERATOR_PASSWORD);
  }, 60_000);

  it('shows a fault the real agent raises live, then the ticket it opens, and resolves it with a written report', async () => {
    const { page, problems } = await person('engineer');
    await page.goto(`${site.baseUrl}/tickets`);
    await expect.poll(() => page.locator('[data-test=tickets-table]').isVisible()).toBe(true);
    // No reload from here: the fault's ticket arrives through the live stream.
    await expect.poll(() => page.locator('[data-test=tickets-table] .title').count(), { timeout: 45_000 }).toBeGreaterThan(0);
    await page.locator('[data-test=tickets-table] .title').first().click();
    await page.waitForURL(/\/tickets\/TK-/);
    await expect.poll(() => page.locator('[data-test=ticket-title]').textContent()).toMatch(/PJLink|projector/i);
    await page.locator('[data-test=ticket-ack]').click();
    await expect.poll(() => page.locator('[data-test=ticket-status]').textContent()).toBe('acknowledged');
    await page.locator('[data-test=ticket-resolve]').click();
    await page.locator('textarea[data-test=resolve-note], [data-test=resolve-note] textarea').fill('Projector power cable reseated; PJLink answers again.');
    await page.locator('[data-test=resolve-submit]').click();
    await expect.poll(() => page.locator('[data-test=ticket-status]').textContent()).toBe('resolved');
    await expect.poll(() => page.locator('[data-test=ticket-resolution]').textContent()).toContain('Projector power cable reseated');
    await screenshot(page, 'ticket-en');
    expect(problems).toEqual([]);
  }, 90_000);

  it('renders the agent\'s device named like markup as text: no element, no script, no dialog; charts with their targets; the timetable', async () => {
    // Two network results as the agent sends them (the WebRTC test itself is tested in bench:measure).
    const [schoolId = '', agentId = ''] = site.agentId.split(':');
    const from = messagesFrom({ schoolId, roomId: 'r101', agentId });
    for (const [minutesAgo, rttMs, mos] of [[30, 42, 4.3], [5, 180, 3.6]] as const) {
      const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
      const result = { test: 'network', verdict: rttMs > 100 ? 'below-targets' : 'meets-targets', rttMs, down: { lossPercent: 0.2, jitterMs: 6 }, quality: { mos } };
      await site.cloud.store.ingest([accepted({ ...from.measurement({ at }), name: 'network', value: mos, unit: 'MOS', details: { status: 'done', trigger: 'schedule', result } })]);
    }
    const { page, dialogs, problems } = await person('admin1');
    await page.goto(`${site.baseUrl}/agents/${encodeURIComponent(site.agentId)}`);
    await expect.poll(() => page.locator('[data-test=device-name]').allTextContents(), { timeout: 30_000 }).toContain(XSS_NAME);
    await expect.poll(() => page.locator('[data-test=fault-message]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    // ECharts came with the charts (lazily), drew both results and the 100 ms target line.
    await expect.poll(() => page.locator('[data-test=rtt-chart] svg').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('[data-test=rtt-chart]').textContent()).toContain('target 100');
    // A target outside the results' range is still drawn: the axis reaches it.
    expect(await page.locator('[data-test=loss-chart]').textContent()).toContain('target 1');
    expect(await page.locator('[data-test=mos-chart]').textContent()).toContain('target 3.5');
    await expect.poll(() => page.locator('[data-test=lessons] li').count()).toBe(5);
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    await screenshot(page, 'agent-en');
    // The fleet list shows the newest verdict.
    await page.goto(`${site.baseUrl}/fleet`);
    await expect.poll(() => page.locator('[data-test=fleet-table]').textContent()).toContain('below targets');
  }, 60_000);
});

/** An Element Plus input by its data-test name: the attribute lands on the native input or on its wrapper. */
const field = (page: Page, name: string) => page.locator(`input[data-test=${name}], textarea[data-test=${name}], [data-test=${name}] input, [data-test=${name}] textarea`).first();

/** A request the page itself makes with its cookie, with or without its CSRF token. */
async function fromPage(page: Page, method: string, path: string, body: object | undefined, withCsrf: boolean): Promise<{ status: number; code: string | undefined }> {
  return page.evaluate(
    async ({ method, path, body, withCsrf }) => {
      const session = (await (await fetch('/api/auth/session')).json()) as { csrfToken?: string };
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (withCsrf && session.csrfToken) headers['x-csrf-token'] = session.csrfToken;
      const response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const answer = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
      return { status: response.status, code: answer.error?.code };
    },
    { method, path, body, withCsrf },
  );
}

describe('a remote session in two browsers', () => {
  it('is requested by the engineer, arrives live at the school admin, who approves it; both see the result; after the revoke the next action is refused', async () => {
    const engineer = await person('engineer');
    const admin = await person('admin1', { width: 375, height: 812 });
    await admin.page.goto(`${site.baseUrl}/sessions`);
    await expect.poll(() => admin.page.locator('[data-test=sessions-table]').isVisible()).toBe(true);

    await engineer.page.goto(`${site.baseUrl}/sessions`);
    await engineer.page.locator('[data-test=session-agent]').click();
    await engineer.page.locator('.el-select-dropdown__item', { hasText: site.agentId }).first().click();
    await field(engineer.page, 'session-reason').fill('projector in r101 <b>not</b> answering');
    await engineer.page.locator('[data-test=session-request]').click();
    await engineer.page.waitForURL(/\/sessions\/[0-9a-f-]{36}$/);
    const sessionUrl = engineer.page.url();

    // The admin's list shows it without a reload, and says it arrived.
    await expect.poll(() => admin.page.locator('[data-test=sessions-table] a').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => admin.page.locator('.el-notification').count()).toBeGreaterThan(0);
    await admin.page.locator('[data-test=sessions-table] a').first().click();
    await admin.page.waitForURL(sessionUrl);
    await expect.poll(() => admin.page.locator('[data-test=session-reason-shown]').textContent()).toBe('projector in r101 <b>not</b> answering');
    await screenshot(admin.page, 'consent-375-en');
    expect(await admin.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await admin.page.locator('[data-test=session-approve]').click();
    await expect.poll(() => admin.page.locator('[data-test=session-state]').textContent()).toBe('active');

    // The engineer's page turns active by itself and offers the granted actions.
    await expect.poll(() => engineer.page.locator('[data-test=session-state]').textContent(), { timeout: 10_000 }).toBe('active');
    await engineer.page.locator('[data-test=session-run]').click();
    for (const side of [engineer.page, admin.page]) {
      await expect.poll(() => side.locator('[data-test=session-command] [data-status]').first().getAttribute('data-status'), { timeout: 30_000 }).toBe('ok');
      // The inventory as a table, the device's name as text.
      await expect.poll(() => side.locator('[data-test=session-command] table').first().textContent()).toContain(XSS_NAME);
    }
    await screenshot(engineer.page, 'session-en');

    await admin.page.locator('[data-test=session-revoke]').click();
    await expect.poll(() => admin.page.locator('[data-test=session-state]').textContent()).toBe('revoked');
    await expect.poll(() => engineer.page.locator('[data-test=session-run]').count(), { timeout: 10_000 }).toBe(0);
    const sessionId = sessionUrl.split('/').pop() ?? '';
    const refused = await fromPage(engineer.page, 'POST', `/api/sessions/${sessionId}/commands`, { action: 'inventory' }, true);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.code).toMatch(/SESSION_/);
    // The ticket list on the same phone-sized screen: no sideways scrolling.
    await admin.page.goto(`${site.baseUrl}/tickets`);
    await expect.poll(() => admin.page.locator('[data-test=tickets-table] .title').count()).toBeGreaterThan(0);
    expect(await admin.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    // The SLA clock is on screen, not in a column scrolled out of view.
    const table = await admin.page.locator('[data-test=tickets-table] .el-scrollbar__wrap, [data-test=tickets-table] .el-table__body-wrapper').first().evaluate((element) => ({ scroll: element.scrollWidth, client: element.clientWidth }));
    expect(table.scroll).toBeLessThanOrEqual(table.client);
    await expect.poll(() => admin.page.locator('[data-test=tickets-table] [data-test=sla]').first().isVisible()).toBe(true);
    await screenshot(admin.page, 'tickets-375-en');
    expect([...engineer.dialogs, ...admin.dialogs]).toEqual([]);
    // The one refusal above is logged by the browser as a failed request; nothing else may be.
    expect([...engineer.problems, ...admin.problems].filter((problem) => !/status of 409/.test(problem))).toEqual([]);
  }, 120_000);
});

describe('languages', () => {
  it('opens in Chinese for a zh-CN browser, shows the PC\'s fault in Chinese, and switches to English', async () => {
    const watched = await openPage(browser, { locale: 'zh-CN' });
    opened.push(watched);
    const { page } = watched;
    await page.goto(`${site.baseUrl}/sign-in`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('登录 avcare');
    await page.locator('#sign-in-name').fill(PEOPLE.admin1.name);
    await page.locator('#sign-in-password').fill(PEOPLE.admin1.password);
    await page.locator('[data-test=sign-in]').click();
    await page.waitForURL(/\/fleet/);
    await expect.poll(() => page.locator('h1').textContent()).toBe('设备总览');
    await screenshot(page, 'fleet-zh-CN');
    await page.goto(`${site.baseUrl}/agents/${encodeURIComponent(site.agentId)}`);
    await expect.poll(() => page.locator('[data-test=fault-message]').first().textContent(), { timeout: 20_000 }).toMatch(/PJLink/);
    const chinese = await page.locator('[data-test=fault-message]').first().textContent();
    expect(chinese).toMatch(/[\u4e00-\u9fff]/);
    await screenshot(page, 'agent-zh-CN');
    await page.goto(`${site.baseUrl}/tickets`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('工单');
    await screenshot(page, 'tickets-zh-CN');

    await page.locator('.language').click();
    await page.locator('.el-select-dropdown__item', { hasText: 'English' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tickets');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await screenshot(page, 'tickets-en');
    expect(watched.problems).toEqual([]);
  }, 60_000);
});

describe('scope, roles and CSRF', () => {
  it('keeps an IT teacher of another school out of school 1: not listed, not reachable by URL, not by the API', async () => {
    const { page, problems } = await person('teacher2');
    await page.goto(`${site.baseUrl}/fleet`);
    await expect.poll(() => page.locator('[data-test=fleet-table]').isVisible()).toBe(true);
    expect(await page.locator('[data-test=fleet-table] a').count()).toBe(0);
    await page.goto(`${site.baseUrl}/agents/${encodeURIComponent(site.agentId)}`);
    await expect.poll(() => page.locator('[data-test=error]').textContent()).toContain('no agent');
    expect((await fromPage(page, 'GET', `/api/agents/${encodeURIComponent(site.agentId)}`, undefined, true)).status).toBe(404);
    const tickets = await page.evaluate(async () => ((await (await fetch('/api/tickets')).json()) as { tickets: unknown[] }).tickets.length);
    expect(tickets).toBe(0);
    // The error page shows a 404 from the API: the browser logs that request, nothing else went wrong.
    expect(problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
  }, 60_000);

  it('offers an IT teacher no service-team moves, and the server refuses them anyway; no change without the CSRF token', async () => {
    const { page } = await person('teacher1');
    // The projector ticket resolved above: the one a teacher may rate. (The live agent may open others meanwhile, a busy CI host's CPU among them.)
    const { tickets } = await page.evaluate(async () => (await (await fetch('/api/tickets?status=resolved')).json()) as { tickets: Array<{ id: string }> });
    const ticketId = tickets[0]?.id ?? '';
    expect(ticketId).toMatch(/^TK-/);
    await page.goto(`${site.baseUrl}/tickets/${ticketId}`);
    await expect.poll(() => page.locator('[data-test=ticket-title]').isVisible()).toBe(true);
    for (const move of ['ack', 'start', 'resolve', 'on-site', 'close']) expect(await page.locator(`[data-test=ticket-${move}]`).count(), move).toBe(0);
    expect(await fromPage(page, 'POST', `/api/tickets/${ticketId}/start`, {}, true)).toEqual({ status: 403, code: 'FORBIDDEN' });
    // The cookie alone changes nothing: the same rating without the header is refused before anything else.
    expect(await fromPage(page, 'POST', `/api/tickets/${ticketId}/rate`, { score: 4 }, false)).toEqual({ status: 403, code: 'CSRF_TOKEN_MISSING' });
    expect((await fromPage(page, 'POST', `/api/tickets/${ticketId}/rate`, { score: 4 }, true)).status).toBe(200);
  }, 60_000);
});

describe('service quality', () => {
  it('shows the report the database computed, its total and who fixed what, with a CSV export', async () => {
    const { page, problems } = await person('operator');
    await page.goto(`${site.baseUrl}/quality`);
    await expect.poll(() => page.locator('[data-test=quality-table] .el-table__row').count(), { timeout: 10_000 }).toBeGreaterThan(1);
    // The resolved projector ticket: opened and resolved once, remotely (by the engineer, without a visit).
    const total = await page.locator('[data-test=quality-table] .el-table__row').last().textContent();
    expect(total).toMatch(/^All/);
    expect(total).toContain('0 / 1 / 0');
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), (await page.locator('[data-test=quality-csv]').getAttribute('href')) ?? '');
    expect(csv.split('\n')[0]).toMatch(/^group,opened,resolved,/);
    await screenshot(page, 'quality-en');
    expect(problems).toEqual([]);
  }, 60_000);
});

describe('accessibility', () => {
  it('has no serious or critical axe-core violation on the main pages', async () => {
    const { page } = await person('admin1');
    const ticketId = (await page.evaluate(async () => (await (await fetch('/api/tickets')).json()) as { tickets: Array<{ id: string }> })).tickets[0]?.id ?? '';
    const found: Record<string, unknown[]> = {};
    for (const path of ['/fleet', '/tickets', `/tickets/${ticketId}`, `/agents/${encodeURIComponent(site.agentId)}`, '/sessions', '/quality', '/audit', '/admin']) {
      await page.goto(`${site.baseUrl}${path}`);
      await page.waitForLoadState('networkidle');
      await expect.poll(() => page.locator('h1').count()).toBeGreaterThan(0);
      const serious = (await axeViolations(page)).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
      if (serious.length > 0) found[path] = serious;
    }
    expect(found).toEqual({});
    await page.goto(`${site.baseUrl}/sign-in`);
  }, 120_000);
});
