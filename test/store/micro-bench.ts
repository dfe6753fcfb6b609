/**
 * Store write throughput, without MQTT: `npx tsx test/store/micro-bench.ts [events] [batch]`.
 * Health events only (the bulk of fleet traffic) and the benchmark's mixed traffic, into a SQLite
 * file and a fresh PostgreSQL database. Ends with one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../cloud/store/open-store.js';
import type { AcceptedEvent } from '../../cloud/store/store.js';
import { nextMessage, simulatedFleet } from '../bench/telemetry.js';
import { createTestDatabase } from '../helpers/postgres.js';

const total = Number(process.argv[2] ?? 20_000);
const batchSize = Number(process.argv[3] ?? 500);

function traffic(mix: 'health' | 'mixed'): AcceptedEvent[][] {
  const fleet = simulatedFleet(2000);
  const events: AcceptedEvent[] = [];
  for (let index = 0; events.length < total; index += 1) {
    const agent = fleet[index % fleet.length];
    if (!agent) break;
    // Index 3 and up of every 20 is a health sample in the simulated mix.
    const kindIndex = mix === 'health' ? 3 + (index % 17) : index;
    events.push({ message: nextMessage(agent, kindIndex).message, receivedAt: new Date() });
  }
  const batches: AcceptedEvent[][] = [];
  for (let start = 0; start < events.length; start += batchSize) batches.push(events.slice(start, start + batchSize));
  return batches;
}

async function measure(spec: string, batches: AcceptedEvent[][]): Promise<number> {
  const store = await openStore(spec);
  await store.migrate();
  const started = performance.now();
  let stored = 0;
  for (const batch of batches) stored += (await store.ingest(batch)).stored;
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  if (stored !== total) throw new Error(`stored ${stored} of ${total}`);
  return Math.round(total / seconds);
}

const results: Record<string, number> = {};
for (const mix of ['health', 'mixed'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-bench-'));
  try {
    results[`sqlite_${mix}_per_s`] = await measure(`sqlite:${join(dir, 'bench.db')}`, traffic(mix));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const database = await createTestDatabase();
  try {
    results[`postgres_${mix}_per_s`] = await measure(database.url, traffic(mix));
  } finally {
    await database.drop();
  }
}
console.log(JSON.stringify({ events: total, batchSize, ...results }));
