import { createLogger } from '../../protocol/log.js';
import { Collector } from '../../cloud/collector/collector.js';
import { startMqttFeed } from '../../cloud/collector/mqtt-feed.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { openStore } from '../../cloud/store/open-store.js';

/**
 * A collector process of its own (store + collector + MQTT feed), so a test can SIGKILL it
 * mid-stream. Usage: collector-process.ts STORE_SPEC BROKER_URL [BATCH_DELAY_MS]; prints "ready" once
 * subscribed. The collector's broker account comes from AVCARE_TEST_COLLECTOR_PASSWORD (never argv).
 */
const [storeSpec, brokerUrl, batchDelayMs = '20'] = process.argv.slice(2);
if (!storeSpec || !brokerUrl) throw new Error('usage: collector-process.ts STORE_SPEC BROKER_URL [BATCH_DELAY_MS]');

const log = createLogger({ level: 'warn' });
const store = await openStore(storeSpec);
await store.migrate();
const collector = new Collector({ store, metrics: new CloudMetrics(), log, maxDelayMs: Number(batchDelayMs) });
const password = process.env.AVCARE_TEST_COLLECTOR_PASSWORD;
const feed = startMqttFeed({ url: brokerUrl, collector, log, clientId: 'avcare-collector-sigkill', ...(password ? { username: 'avcare-collector-sigkill', password } : {}) });
await feed.ready;
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await feed.close();
    await collector.close();
    await store.close();
  })();
});
