/**
 * A provider's fleet in a cloud's database, for the console's benchmark and for trying the
 * console on a fleet of realistic size: SCHOOLS schools of ROOMS rooms, AGENTS PCs in all (online,
 * a few offline), and TICKETS tickets opened by faults through the real ticket engine (a tenth of
 * them resolved and rated, the rest open), with a service configuration covering every school.
 *
 *   npx tsx test/bench/seed-fleet.ts --data ./avcare-data [--agents 2000] [--tickets 10000]
 *   npm start -- --data ./avcare-data --service ./avcare-data/seed-service.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openStore } from '../../cloud/store/open-store.js';
import type { Store } from '../../cloud/store/store.js';
import { parseServiceConfig, serviceDirectory } from '../../cloud/tickets/service-config.js';
import { TicketEngine } from '../../cloud/tickets/ticket-engine.js';
import type { FaultCode } from '../../protocol/index.js';
import { accepted, messagesFrom, type Sender } from '../store/store-messages.js';

const FAULTS: Array<{ code: FaultCode; deviceId: string | null }> = [
  { code: 'DEVICE_MISSING', deviceId: 'expected:usb:camera' },
  { code: 'DISK_NEARLY_FULL', deviceId: null },
  { code: 'MICROPHONE_MUTED', deviceId: 'usb:0:mic' },
  { code: 'PJLINK_NOT_ANSWERING', deviceId: 'pjlink:projector' },
  { code: 'CPU_SUSTAINED_HIGH', deviceId: null },
];

export interface SeedPlan {
  agents: number;
  tickets: number;
  schools: number;
}

export interface Seeded {
  serviceFile: string;
  /** The PCs, as their messages name them. */
  senders: Sender[];
  agents: number;
  tickets: number;
  ms: number;
}

/** The service configuration the seeded fleet runs with: one region and team per ten schools. */
export function seedService(plan: SeedPlan) {
  const regions = Array.from({ length: Math.ceil(plan.schools / 10) }, (_, index) => ({ id: `region-${index + 1}`, city: `City ${index + 1}` }));
  return parseServiceConfig(
    {
      regions,
      teams: regions.map((region, index) => ({ id: `team-${index + 1}`, regions: [region.id] })),
      schools: Array.from({ length: plan.schools }, (_, index) => ({ id: `sch-${String(index + 1).padStart(3, '0')}`, name: `第${index + 1}中学`, region: regions[Math.floor(index / 10)]?.id ?? 'region-1' })),
    },
    'seed',
  );
}

/** The seeded PCs as their messages name them: the same for every run of a plan. */
export function seededSenders(plan: SeedPlan): Sender[] {
  return Array.from({ length: plan.agents }, (_, index) => ({
    schoolId: `sch-${String((index % plan.schools) + 1).padStart(3, '0')}`,
    roomId: `room-${String(Math.floor(index / plan.schools) % 40).padStart(2, '0')}`,
    agentId: `pc-${String(index + 1).padStart(5, '0')}`,
  }));
}

export async function seedFleet(store: Store, dataDir: string, plan: SeedPlan): Promise<Seeded> {
  const started = Date.now();
  const config = seedService(plan);
  const serviceFile = join(dataDir, 'seed-service.json');
  writeFileSync(serviceFile, JSON.stringify({ regions: config.regions, teams: config.teams, schools: config.schools.map(({ id, name, region }) => ({ id, name, region })) }, null, 2));
  let clock = Date.now() - 3_600_000;
  const engine = new TicketEngine({ db: store.database, directory: serviceDirectory(config), log: pino({ level: 'silent' }), now: () => clock });
  const senders = seededSenders(plan);
  const BATCH = 500;
  for (let from = 0; from < senders.length; from += BATCH) {
    const at = new Date(clock).toISOString();
    await store.ingest(senders.slice(from, from + BATCH).map((sender, index) => accepted(messagesFrom(sender).status((from + index) % 50 === 7 ? 'offline' : 'online', { at, ...((from + index) % 50 === 7 ? { reason: 'last will' } : {}) }), new Date(clock))));
  }
  // As autovacuum would, while tables grow from nothing: a plan chosen for an empty table must not outlive it.
  const analyze = () => (store.database.name === 'postgres' ? store.database.executeScript('ANALYZE') : Promise.resolve());
  await analyze();
  // Each fault of each PC opens one ticket: as many PCs and codes as the plan's tickets need.
  const raises = Array.from({ length: plan.tickets }, (_, index) => ({ sender: senders[index % senders.length], fault: FAULTS[Math.floor(index / senders.length) % FAULTS.length] }));
  for (let from = 0; from < raises.length; from += BATCH) {
    clock += 1_000;
    const at = new Date(clock).toISOString();
    const result = await store.ingest(
      raises.slice(from, from + BATCH).flatMap(({ sender, fault }) => (sender && fault ? [accepted(messagesFrom(sender).fault('raised', { at, code: fault.code, deviceId: fault.deviceId, severity: 'urgent' }), new Date(clock))] : [])),
    );
    if (result.changed) engine.notify(result.changed);
    await engine.settle();
    if ((from / BATCH) % 20 === 19) await analyze();
  }
  await analyze();
  // A tenth answered, resolved and rated: the service-quality page has something to show.
  const opened = await engine.store.list({ limit: plan.tickets });
  clock += 20 * 60_000;
  for (const ticket of opened.filter((_, index) => index % 10 === 0)) {
    await engine.acknowledge(ticket.id, 'user:seed-engineer');
    await engine.resolve(ticket.id, 'user:seed-engineer', { note: 'seeded resolution' });
    await engine.rate(ticket.id, 'user:seed-admin', { score: 3 + (ticket.id.charCodeAt(4) % 3) });
  }
  await engine.stop();
  return { serviceFile, senders, agents: senders.length, tickets: opened.length, ms: Date.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string', default: './avcare-data' }, db: { type: 'string' }, agents: { type: 'string', default: '2000' }, tickets: { type: 'string', default: '10000' }, schools: { type: 'string', default: '50' } } });
  const dataDir = resolve(values.data);
  mkdirSync(dataDir, { recursive: true });
  const store = await openStore(values.db ?? `sqlite:${join(dataDir, 'avcare.db')}`);
  await store.migrate();
  try {
    const seeded = await seedFleet(store, dataDir, { agents: Number(values.agents), tickets: Number(values.tickets), schools: Number(values.schools) });
    console.log(`seeded ${seeded.agents} PCs and ${seeded.tickets} tickets in ${(seeded.ms / 1000).toFixed(1)} s; start the cloud with --data ${dataDir} --service ${seeded.serviceFile}`);
  } finally {
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
