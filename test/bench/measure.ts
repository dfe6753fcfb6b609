/**
 * bench:measure: how close the agent's measurements come to a ground truth. The path between the
 * agent's test (its own child process, as in production) and the reflector runs through a
 * user-space UDP relay with known delay, jitter, loss or a UDP-only rate cap (this kernel has no
 * netem); the relay keeps what it actually did to each RTP packet. A/V offsets are injected on
 * the sender of the pipeline loopback, and into generated room captures read by the room chain.
 * Every cell is printed, measured against injected; the last line is one JSON object of figures.
 *
 *   BENCH_MEASURE_QUICK=1   a smaller grid (delay 0/150, jitter 0/30, loss 0/5, one cap)
 *   BENCH_MEASURE_SECONDS   media per cell (default 20, as the agent's own test)
 */
import { measurePipelineSync } from '../../agent/measure/pipeline-loopback.js';
import { measureRoomChain } from '../../agent/measure/room-chain.js';
import type { NetworkResult } from '../../protocol/measure-result.js';
import type { Impairment } from '../sim/impaired-relay.js';
import { simulatedRoomGraph } from '../sim/simulated-room.js';
import { MeasureRig } from '../measure/measure-rig.js';
import { AV_OFFSETS_MS, judgeCell, networkGrid, TARGETS, truthLoss, type CellJudgement } from './measure-grid.js';

const QUICK = process.env.BENCH_MEASURE_QUICK === '1';
const SECONDS = Number(process.env.BENCH_MEASURE_SECONDS ?? 20);

interface NetworkCell {
  injected: Impairment;
  truth: { rttMs: number; lossUp: number; lossDown: number; jitterUp: number; jitterDown: number };
  measured: { rttMs: number | null; lossUp: number | null; lossDown: number; jitterUp: number | null; jitterDown: number; throttled: boolean; capKbps: number | null; mos: number } | null;
  judgement: CellJudgement | null;
  error?: string;
}

const round = (value: number | null, digits = 1): number | null => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);

async function networkCells(): Promise<NetworkCell[]> {
  const rig = await MeasureRig.start();
  const cells: NetworkCell[] = [];
  try {
    for (const injected of networkGrid(QUICK)) {
      const { outcome, truth } = await rig.network(injected, { durationMs: SECONDS * 1000 });
      const truthFigures = {
        rttMs: round(truth.up.meanAddedMs + truth.down.meanAddedMs) ?? 0,
        lossUp: round(truthLoss(truth.up), 2) ?? 0,
        lossDown: round(truthLoss(truth.down), 2) ?? 0,
        jitterUp: round(truth.up.audioJitterMs) ?? 0,
        jitterDown: round(truth.down.audioJitterMs) ?? 0,
      };
      if (outcome.status !== 'done' || outcome.result.test !== 'network') {
        cells.push({ injected, truth: truthFigures, measured: null, judgement: null, error: outcome.status === 'done' ? 'not a network result' : outcome.message });
        console.error(`${describe(injected)}  FAILED: ${cells.at(-1)?.error ?? ''}`);
        continue;
      }
      const result: NetworkResult = outcome.result;
      const measured = {
        rttMs: result.rttMs,
        lossUp: result.up?.lossPercent ?? null,
        lossDown: result.down.lossPercent,
        jitterUp: result.up?.jitterMs ?? null,
        jitterDown: result.down.jitterMs,
        throttled: result.throttle?.throttled ?? false,
        capKbps: result.throttle?.capKbps ?? null,
        mos: result.quality.mos,
      };
      const judgement = judgeCell(injected, { rttMs: result.rttMs, up: result.up, down: result.down, throttled: measured.throttled }, truth);
      cells.push({ injected, truth: truthFigures, measured, judgement });
      console.error(
        `${describe(injected)}  rtt ${fmt(measured.rttMs)}/${truthFigures.rttMs}  loss up ${fmt(measured.lossUp)}/${truthFigures.lossUp} down ${measured.lossDown}/${truthFigures.lossDown}` +
          `  jitter up ${fmt(measured.jitterUp)}/${truthFigures.jitterUp} down ${measured.jitterDown}/${truthFigures.jitterDown}  throttled ${measured.throttled}${measured.capKbps === null ? '' : ` at ${measured.capKbps}`}  ${judgement.pass ? 'ok' : 'MISS'}`,
      );
    }
  } finally {
    await rig.close();
  }
  return cells;
}

interface AvCell {
  injectedMs: number;
  measuredMs: number;
  errorMs: number;
  markers: number;
  spreadMs: number;
  pass: boolean;
}

/**
 * Each offset in one run of its own: odd markers carry the injected offset, even ones none, so the
 * pipeline's own offset (the audio jitter buffer, which drifts between runs) is taken off within
 * the same run: measured = median(shifted) - median(reference).
 */
async function avCells(): Promise<{ baselineMs: number; cells: AvCell[] }> {
  const cells: AvCell[] = [];
  const baselines: number[] = [];
  for (const injectedMs of AV_OFFSETS_MS) {
    // Positive = sound ahead of picture: the beep leaves that much before the flash.
    // 750 ms apart: a beep moved 120 ms towards its neighbour still follows 300 ms of quiet, as the detector needs.
    const run = await measurePipelineSync({ markers: 24, intervalMs: 750, audioShiftFor: (index) => (index % 2 === 1 ? -injectedMs : 0) });
    const offsets = (odd: boolean) => run.pairs.filter((_, index) => (run.markerOfPair[index] ?? 0) % 2 === (odd ? 1 : 0)).map((pair) => pair.offsetMs);
    const reference = median(offsets(false));
    const shifted = offsets(true);
    const measuredMs = median(shifted) - reference;
    baselines.push(reference);
    const errorMs = Math.abs(measuredMs - injectedMs);
    const pass = errorMs <= TARGETS.avMs && shifted.length >= 10;
    cells.push({ injectedMs, measuredMs: round(measuredMs) ?? 0, errorMs: round(errorMs) ?? 0, markers: shifted.length, spreadMs: run.summary.spreadMs, pass });
    console.error(`A/V injected ${injectedMs} ms  measured ${round(measuredMs)} ms (${shifted.length} shifted and ${run.pairs.length - shifted.length} reference markers; pipeline ${round(reference)} ms)  ${pass ? 'ok' : 'MISS'}`);
  }
  return { baselineMs: round(median(baselines)) ?? 0, cells };
}

/**
 * The room chain's reader and detector on generated room captures (a camera 100 ms late under
 * sensor noise seeing a dim flash, a quiet beep over pink noise), each injected offset through a
 * real ffmpeg: measured against what was generated. The room chain has no baseline to take off.
 */
async function roomAvCells(): Promise<AvCell[]> {
  const cameraFrames = 3;
  const cells: AvCell[] = [];
  for (const injectedMs of AV_OFFSETS_MS) {
    const truthMs = (cameraFrames * 1000) / 30 + injectedMs;
    const graph = simulatedRoomGraph({ markers: 12, audioShiftMs: -injectedMs, videoDelayFrames: cameraFrames, roomNoise: 0.1 });
    const run = await measureRoomChain({ capture: { kind: 'lavfi', graph }, markers: 12 });
    const errorMs = Math.abs(run.summary.offsetMs - truthMs);
    const pass = errorMs <= TARGETS.avMs && run.summary.markers >= 10;
    cells.push({ injectedMs, measuredMs: run.summary.offsetMs, errorMs: round(errorMs) ?? 0, markers: run.summary.markers, spreadMs: run.summary.spreadMs, pass });
    console.error(`room A/V injected ${injectedMs} ms + camera ${round((cameraFrames * 1000) / 30)} ms  measured ${run.summary.offsetMs} ms (truth ${round(truthMs)}, ${run.summary.markers} markers)  ${pass ? 'ok' : 'MISS'}`);
  }
  return cells;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = (sorted.length - 1) / 2;
  return ((sorted[Math.floor(middle)] ?? 0) + (sorted[Math.ceil(middle)] ?? 0)) / 2;
}

function describe(cell: Impairment): string {
  return `delay ${String(cell.delayMs).padStart(3)} jitter ${String(cell.jitterMs).padStart(2)} loss ${cell.lossPercent} cap ${cell.rateKbps || '-'}`.padEnd(38);
}

function fmt(value: number | null): string {
  return value === null ? '-' : String(value);
}

function worst(values: (number | null | undefined)[]): number | null {
  const known = values.filter((value): value is number => typeof value === 'number');
  return known.length === 0 ? null : Math.round(Math.max(...known) * 10) / 10;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.error(`bench:measure: ${QUICK ? 'quick grid' : 'full grid'}, ${SECONDS} s of media per cell; measured/truth`);
  const network = await networkCells();
  const av = await avCells();
  const roomAv = await roomAvCells();
  const uncapped = network.filter((cell) => cell.injected.rateKbps === 0);
  const capped = network.filter((cell) => cell.injected.rateKbps > 0);
  const figures = {
    bench: 'measure',
    quick: QUICK,
    secondsPerCell: SECONDS,
    cells: network.length,
    failedRuns: network.filter((cell) => cell.measured === null).length,
    worstErrors: {
      rttMs: worst(uncapped.map((cell) => cell.judgement?.rttErrorMs)),
      lossPp: worst(uncapped.flatMap((cell) => [cell.judgement?.lossErrorPp.up, cell.judgement?.lossErrorPp.down])),
      jitterMs: worst(uncapped.flatMap((cell) => [cell.judgement?.jitterErrorMs.up, cell.judgement?.jitterErrorMs.down])),
      avMs: worst(av.cells.map((cell) => cell.errorMs)),
      roomAvMs: worst(roomAv.map((cell) => cell.errorMs)),
    },
    cellsWithinTargets: { network: `${uncapped.filter((cell) => cell.judgement?.pass).length}/${uncapped.length}`, av: `${av.cells.filter((cell) => cell.pass).length}/${av.cells.length}`, roomAv: `${roomAv.filter((cell) => cell.pass).length}/${roomAv.length}` },
    throttling: { detectedInCapped: `${capped.filter((cell) => cell.measured?.throttled).length}/${capped.length}`, falseInUncapped: uncapped.filter((cell) => cell.measured?.throttled).length },
    avBaselineMs: av.baselineMs,
    targets: { rttMs: `max(${TARGETS.rttAbsMs}, ${TARGETS.rttRelative * 100}%)`, lossPp: TARGETS.lossPp, jitterMs: TARGETS.jitterMs, avMs: TARGETS.avMs },
    grid: network.map((cell) => ({ injected: cell.injected, truth: cell.truth, measured: cell.measured, pass: cell.judgement?.pass ?? false, ...(cell.error ? { error: cell.error } : {}) })),
    av: av.cells,
    roomAv,
    seconds: Math.round((Date.now() - started) / 1000),
    pass: network.every((cell) => cell.judgement?.pass) && av.cells.every((cell) => cell.pass) && roomAv.every((cell) => cell.pass),
  };
  console.log(JSON.stringify(figures));
}

// Explicit exits: the pipeline loopback's WebRTC library keeps native threads (and the event loop)
// alive after its peers are closed, and a bench left running skews whatever runs next.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    console.log(JSON.stringify({ bench: 'measure', pass: false, error: error instanceof Error ? error.message : String(error) }));
    process.exit(1);
  },
);
