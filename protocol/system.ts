import { z } from 'zod';

export const systemSnapshotSchema = z.object({
  os: z.object({
    platform: z.string(),
    distro: z.string(),
    release: z.string(),
    arch: z.string(),
    hostname: z.string(),
  }),
  cpu: z.object({
    cores: z.number().int().positive(),
    /** Whole-machine load over the last sample, 0-100. */
    loadPercent: z.number().min(0).max(100),
  }),
  memory: z.object({
    totalBytes: z.number().nonnegative(),
    availableBytes: z.number().nonnegative(),
  }),
  disks: z.array(
    z.object({
      mount: z.string(),
      fsType: z.string(),
      sizeBytes: z.number().nonnegative(),
      usedBytes: z.number().nonnegative(),
      usePercent: z.number().min(0).max(100),
    }),
  ),
  /** null when the PC exposes no readable sensor (common in VMs). */
  cpuTemperatureC: z.number().nullable(),
  network: z.array(
    z.object({
      iface: z.string(),
      up: z.boolean(),
      speedMbps: z.number().nullable(),
      ipv4: z.string().optional(),
      mac: z.string().optional(),
      virtual: z.boolean(),
    }),
  ),
  uptimeSeconds: z.number().nonnegative(),
  agentVersion: z.string(),
});
export type SystemSnapshot = z.infer<typeof systemSnapshotSchema>;
