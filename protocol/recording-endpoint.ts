import { z } from 'zod';

/**
 * The PC's default recording device as Windows' Core Audio reports it: muted, or its level at
 * zero, is a class that cannot be heard though every device works.
 */
export const recordingEndpointSchema = z.object({
  /** Core Audio's endpoint id, "{0.0.1.00000000}.{guid}"; Plug and Play names it SWD\MMDEVAPI\<id>. */
  endpointId: z.string().max(128),
  /** Which default it is: for media and games ("console"), or for calls ("communications"). */
  roles: z.array(z.enum(['console', 'communications'])).min(1).max(2),
  muted: z.boolean(),
  /** The master level, 0 to 100. */
  levelPercent: z.number().min(0).max(100),
});
export type RecordingEndpoint = z.infer<typeof recordingEndpointSchema>;
