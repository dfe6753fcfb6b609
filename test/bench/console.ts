/**
 * bench:console: is the console usable with a provider's fleet? 2,000 PCs and 10,000 tickets
 * (test/bench/seed-fleet.ts) in the cloud's database, SQLite and then PostgreSQL; headless Chromium
 * signed in as the operator opens the fleet page and the ticket page, each timed from navigation
 * until its table shows rows (target: under 1 s on loopback). Beside it, its reference: the same
 * pages' API requests alone, timed from Node. Also the first page's compressed script (target: at
 * most 500 KB). Medians of BENCH_RUNS; ends with one JSON line.
 *
 *   npm run bench:console
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { startCloud } from '../../cloud/main.js';
import { openStore } from '../../cloud/store/open-store.js';
import { operatorPasswordFile, signIn, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';
import { launchChromium } from '../helpers/browser.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { TEST_SCRYPT } from '../helpers/security.js';
import { percentile, round } from './proc-stats.js';
import { seedFleet } from './seed-fleet.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 2_000);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 10_000);
const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite,postgres').split(',').map((name) => name.trim());
const TARGET_MS = 1_000;
const BUNDLE = resolve(import.meta.dirname, '../../dist/console/bundle-size.json');

interface Figures {
  database: string;
  seedMs: number;
  fleetPageMs: number;
  ticketsPageMs: number;
  fleetApiMs: number;
  ticketsApiMs: number;
}

/** From the navigation until the page's table has rows: what a person waits for. */
async function pageMs(page: Page, url: string, rows: string): Promise<number> {
  const started = performance.now();
  await page.goto(url);
  await page.locator(rows).first().waitFor({ state: 'visible', timeout: 30_000 });
  return performance.now() - started;
}

/** The same page's API requests from Node, one after the other as the page needs them. */
async function apiMs(baseUrl: string, token: string, paths: readonly string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(
    paths.map(async (path) => {
      const response = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      await response.arrayBuffer();
    }),
  );
  return performance.now() - started;
}

async function measure(database: string): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), `avcare-bench-console-${database}-`));
  const pgDatabase = database === 'postgres' ? await createTestDatabase() : undefined;
  const db = pgDatabase?.url ?? `sqlite:${join(dataDir, 'avcare.db')}`;
  const store = await openStore(db);
  await store.migrate();
  const seeded = await seedFleet(store, dataDir, { agents: AGENTS, tickets: TICKETS, schools: 50 });
  await store.close();
  const cloud = await startCloud({ host: '127.0.0.1', httpPort: 0, mqttPort: 0, dataDir, db, serviceConfig: seeded.serviceFile, adminPasswordFile: operatorPasswordFile(), scryptCost: TEST_SCRYPT, reflector: { enabled: false }, testSchedule: { enabled: false } });
  const baseUrl = cloud.httpUrl.replace(/\/$/, '');
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/sign-in`);
    await page.locator('#sign-in-name').fill('operator');
    await page.locator('#sign-in-password').fill(TEST_OPERATOR_PASSWORD);
    await page.locator('[data-test=sign-in]').click();
    await page.waitForURL(/\/fleet/);
    const token = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    const fleet: number[] = [];
    const tickets: number[] = [];
    const fleetApi: number[] = [];
    const ticketsApi: number[] = [];
    // One unmeasured round first: the browser's cache and the database's pages warm as they would for a person.
    for (let run = 0; run <= RUNS; run += 1) {
      const fleetTime = await pageMs(page, `${baseUrl}/fleet`, '[data-test=fleet-table] .el-table__row');
      const ticketsTime = await pageMs(page, `${baseUrl}/tickets`, '[data-test=tickets-table] .el-table__row');
      const fleetApiTime = await apiMs(baseUrl, token, ['/api/auth/session', '/api/agents?limit=50&offset=0', '/api/rooms']);
      const ticketsApiTime = await apiMs(baseUrl, token, ['/api/auth/session', '/api/tickets?active=true&limit=200']);
      if (run === 0) continue;
      fleet.push(fleetTime);
      tickets.push(ticketsTime);
      fleetApi.push(fleetApiTime);
      ticketsApi.push(ticketsApiTime);
    }
    const median = (values: number[]): number => round(percentile(values, 50), 1);
    return { database, seedMs: seeded.ms, fleetPageMs: median(fleet), ticketsPageMs: median(tickets), fleetApiMs: median(fleetApi), ticketsApiMs: median(ticketsApi) };
  } finally {
    await browser.close();
    await cloud.stop();
    await pgDatabase?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results: Figures[] = [];
let failure: string | undefined;
try {
  for (const database of DATABASES) {
    const figures = await measure(database);
    results.push(figures);
    console.error(`${database}: fleet page ${figures.fleetPageMs} ms (its API ${figures.fleetApiMs} ms), tickets page ${figures.ticketsPageMs} ms (its API ${figures.ticketsApiMs} ms)`);
  }
} catch (error) {
  failure = error instanceof Error ? error.message : String(error);
}
const bundle = JSON.parse(readFileSync(BUNDLE, 'utf8')) as { firstPageScriptBytes: number; limitBytes: number };
const withinTarget = results.length === DATABASES.length && results.every((figures) => figures.fleetPageMs < TARGET_MS && figures.ticketsPageMs < TARGET_MS) && bundle.firstPageScriptBytes <= bundle.limitBytes;
console.log(JSON.stringify({ bench: 'console', agents: AGENTS, tickets: TICKETS, runs: RUNS, targetMs: TARGET_MS, firstPageScriptBytes: bundle.firstPageScriptBytes, firstPageScriptLimitBytes: bundle.limitBytes, results, withinTarget, ...(failure ? { failure } : {}) }));
process.exitCode = withinTarget ? 0 : 1;
