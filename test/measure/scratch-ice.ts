import { pino } from 'pino';
import { MeasureRig } from './measure-rig.js';
const rig = await MeasureRig.start(pino({ level: 'warn' }));
let failed = 0;
for (let i = 0; i < 8; i += 1) {
  const t = Date.now();
  const run = await rig.network({ delayMs: 150, jitterMs: 0, lossPercent: 0, rateKbps: 0 }, { durationMs: 3000 });
  if (run.outcome.status !== 'done') failed += 1;
  console.log(i, run.outcome.status, Date.now() - t, run.outcome.status === 'done' ? '' : run.outcome.message, 'up bytes', run.truth.up.bytesForwarded, 'down bytes', run.truth.down.bytesForwarded);
}
console.log('failed', failed);
process.exit(0);
