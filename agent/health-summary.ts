import type { HealthSummary, SystemSnapshot } from '../protocol/index.js';

/** A health sample in the few numbers an engineer scans across ten of them. */
export function healthSummary(system: SystemSnapshot, at: Date): HealthSummary {
  const fullest = system.disks.reduce<number | null>((max, disk) => (max === null || disk.usePercent > max ? disk.usePercent : max), null);
  return {
    at: at.toISOString(),
    cpuLoadPercent: system.cpu.loadPercent,
    memoryAvailableBytes: system.memory.availableBytes,
    memoryTotalBytes: system.memory.totalBytes,
    cpuTemperatureC: system.cpuTemperatureC,
    fullestDiskUsePercent: fullest,
  };
}
