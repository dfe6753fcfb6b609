import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { topicIdSchema } from '../../protocol/index.js';
import { inScope } from '../accounts/access-policy.js';
import type { SchoolRooms } from '../../protocol/views/fleet-view.js';
import { roomReadiness } from '../fleet/room-readiness.js';
import type { Store } from '../store/store.js';
import type { ServiceDirectory } from '../tickets/service-directory.js';
import { ApiError } from './api-error.js';
import { parseRequestPart } from './parse-request.js';
import { requirePermission, scopeFilter, scopeOf } from './request-auth.js';

const roomsQuerySchema = z.strictObject({ school: topicIdSchema.optional().describe('Only the rooms of this school id') });

/** "Which rooms can teach right now", per school of the reader's scope, from the agents' state and open faults and the timetables. */
export function roomsRoutes(app: FastifyInstance, { store, directory, now = () => new Date() }: { store: Store; directory: ServiceDirectory; now?: () => Date }): void {
  app.get('/api/rooms', async (request): Promise<{ schools: SchoolRooms[] }> => {
    requirePermission(request, 'fleet.read');
    const query = parseRequestPart(roomsQuerySchema, request.query, 'query parameter');
    const scope = scopeOf(request);
    if (query.school !== undefined && !inScope(scope, query.school)) return { schools: [] };
    const schoolIds = scopeFilter(scope);
    let agents;
    try {
      agents = await store.listAgents({ ...(query.school === undefined ? {} : { schoolId: query.school }), ...(schoolIds === undefined ? {} : { schoolIds }) });
    } catch (error) {
      throw new ApiError('STORE_UNAVAILABLE', 'the database cannot be queried right now', { cause: error });
    }
    const at = now();
    const bySchool = new Map<string, Map<string, typeof agents>>();
    for (const agent of agents) {
      const rooms = bySchool.get(agent.schoolId) ?? new Map<string, typeof agents>();
      bySchool.set(agent.schoolId, rooms);
      rooms.set(agent.roomId, [...(rooms.get(agent.roomId) ?? []), agent]);
    }
    return {
      schools: [...bySchool].map(([schoolId, rooms]) => ({
        schoolId,
        name: directory.schoolName(schoolId) ?? null,
        timeZone: directory.terms(schoolId).calendar.timeZone,
        rooms: [...rooms]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([roomId, roomAgents]) => roomReadiness(schoolId, roomId, roomAgents, { teaching: directory.teaching(schoolId, roomId, at), lessons: directory.lessons(schoolId, roomId) })),
      })),
    };
  });
}
