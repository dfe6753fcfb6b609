import mqtt from 'mqtt';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startMosquitto } from './mosquitto.js';
import { createTestDatabase } from './postgres.js';

describe('test helpers', () => {
  it('start an own Mosquitto that keeps a persistent session\'s queue across a restart', async () => {
    const broker = await startMosquitto();
    try {
      const consumer = await mqtt.connectAsync(broker.url, { clientId: 'helper-consumer', clean: false });
      await consumer.subscribeAsync('t/#', { qos: 1 });
      await consumer.endAsync();
      const producer = await mqtt.connectAsync(broker.url);
      await producer.publishAsync('t/1', 'kept', { qos: 1 });
      await producer.endAsync();
      await broker.stop();
      await broker.start();
      const received = new Promise<string>((resolve) => {
        const again = mqtt.connect(broker.url, { clientId: 'helper-consumer', clean: false });
        again.on('message', (_topic, payload) => {
          resolve(payload.toString());
          again.end();
        });
      });
      expect(await received).toBe('kept');
    } finally {
      await broker.stop();
    }
  });

  it('create and drop a fresh PostgreSQL database', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
    await client.end();
    await database.drop();
    expect(rows[0]?.one).toBe(1);
  });
});
