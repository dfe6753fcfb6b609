import { describe, expect, it } from 'vitest';
import { judgeCell, networkGrid } from './measure-grid.js';

const truth = (dropped: number, addedMs: number, jitterMs: number) => ({ rtpPackets: 1000, rtpDropped: dropped, countedPackets: 1000, countedDropped: dropped, meanAddedMs: addedMs, audioJitterMs: jitterMs, audioJitterAllMs: jitterMs, bytesForwarded: 0 });

describe("bench:measure's grid and judgement", () => {
  it('covers delay x jitter x loss and the UDP-only caps', () => {
    const grid = networkGrid(false);
    expect(grid).toHaveLength(27 + 4);
    expect(grid.filter((cell) => cell.rateKbps > 0).every((cell) => cell.jitterMs === 0 && cell.lossPercent === 0)).toBe(true);
  });

  it('passes a cell within max(5 ms, 10 %) of the round trip, 1 pp of loss and 5 ms of jitter, and fails one outside', () => {
    const cell = { delayMs: 150, jitterMs: 10, lossPercent: 2, rateKbps: 0 };
    const relay = { up: truth(20, 160, 10), down: truth(20, 160, 10) };
    expect(judgeCell(cell, { rttMs: 345, up: { lossPercent: 2.5, jitterMs: 13 }, down: { lossPercent: 1.2, jitterMs: 7 }, throttled: false }, relay).pass).toBe(true);
    const off = judgeCell(cell, { rttMs: 360, up: { lossPercent: 3.1, jitterMs: 16 }, down: { lossPercent: 2, jitterMs: 10 }, throttled: true }, relay);
    expect(off).toMatchObject({ rttOk: false, lossOk: false, jitterOk: false, throttleOk: false, pass: false });
  });

  it('judges a capped cell on throttling only', () => {
    const cell = { delayMs: 0, jitterMs: 0, lossPercent: 0, rateKbps: 800 };
    const relay = { up: truth(300, 150, 40), down: truth(300, 150, 40) };
    expect(judgeCell(cell, { rttMs: 1, up: null, down: { lossPercent: 0, jitterMs: 0 }, throttled: true }, relay).pass).toBe(true);
    expect(judgeCell(cell, { rttMs: 1, up: null, down: { lossPercent: 0, jitterMs: 0 }, throttled: false }, relay).pass).toBe(false);
  });
});
