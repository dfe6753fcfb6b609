import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../protocol/index.js';
import { parseCloudOptions } from './cloud-options.js';

describe('cloud options', () => {
  it('defaults to HTTP 8080 on every address, embedded broker on 1883, ./avcare-data and 7/90/365 days of retention', () => {
    expect(parseCloudOptions({})).toEqual({
      httpPort: 8080,
      host: '0.0.0.0',
      mqttPort: 1883,
      collectorId: 'avcare-collector',
      dataDir: './avcare-data',
      retention: { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 365 },
    });
  });

  it('takes the strings a command line gives and turns them into numbers', () => {
    const options = parseCloudOptions({ httpPort: '9000', mqttPort: '0', retention: { eventDays: '30' } });
    expect(options).toMatchObject({ httpPort: 9000, mqttPort: 0, retention: { rawHealthDays: 7, eventDays: 30 } });
  });

  it('refuses bad values naming every flag at fault', () => {
    let caught: unknown;
    try {
      parseCloudOptions({ httpPort: 'http', brokerUrl: 'tcp://broker', retention: { hourlyHealthDays: '0' } });
    } catch (error) {
      caught = error;
    }
    expect(isAvcareError(caught) && caught.code).toBe('INVALID_ARGUMENT');
    const message = (caught as Error).message;
    expect(message).toContain('--port: must be a port number from 0 to 65535');
    expect(message).toContain('--broker: must be mqtt://HOST:PORT or mqtts://HOST:PORT');
    expect(message).toContain('--retention-hourly-days: must be a whole number of days from 1 to 3650');
  });
});
