import { mkdtempSync, rmSync } from 'node:fs';
import type { Histogram } from 'prom-client';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../protocol/log.js';
import { Collector, type CollectorOptions } from '../../cloud/collector/collector.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import type { Security } from '../../cloud/security.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { testSecurity } from '../helpers/security.js';

export type Backend = 'sqlite' | 'postgres';

export interface StoreUnderTest {
  store: Store;
  dispose(): Promise<void>;
}

/** A real, migrated store of a fresh database: a SQLite file in a temporary folder, or a new PostgreSQL database. */
export async function openTestStore(backend: Backend): Promise<StoreUnderTest> {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-collector-'));
    const store = await openStore(`sqlite:${join(dir, 'avcare.db')}`);
    await store.migrate();
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const database = await createTestDatabase();
  const store = await openStore(database.url);
  await store.migrate();
  return {
    store,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}

export interface CollectorUnderTest extends StoreUnderTest {
  collector: Collector;
  metrics: CloudMetrics;
  /** Enrollment, registry and audit over the same store, for ingresses with authentication on. */
  security: Security;
}

export async function startTestCollector(backend: Backend, options: Partial<Omit<CollectorOptions, 'store' | 'metrics'>> = {}): Promise<CollectorUnderTest> {
  const opened = await openTestStore(backend);
  const metrics = new CloudMetrics();
  const collector = new Collector({ store: opened.store, metrics, log: silentLogger, ...options });
  const { security } = await testSecurity(opened.store);
  return {
    ...opened,
    collector,
    metrics,
    security,
    async dispose() {
      await collector.close();
      await opened.dispose();
    },
  };
}

/** One value of a counter or gauge, by its labels. */
export async function metricValue(metrics: CloudMetrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return metric?.values.find((entry) => Object.entries(labels).every(([key, label]) => entry.labels[key] === label))?.value;
}

/** Count and sum of a histogram. */
export async function histogram(metric: Histogram): Promise<{ count: number; sum: number }> {
  const { values } = await metric.get();
  const value = (suffix: string) => values.find((entry) => entry.metricName?.endsWith(suffix))?.value ?? Number.NaN;
  return { count: value('_count'), sum: value('_sum') };
}
