import { createTestDatabase } from '../helpers/postgres.js';
import { ticketEngineSuite } from './ticket-engine-suite.js';

ticketEngineSuite('PostgreSQL', async () => {
  const database = await createTestDatabase();
  return { spec: database.url, cleanup: () => database.drop() };
});
