import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../protocol/index.js';
import { parseCloudOptions } from './cloud-options.js';

describe('cloud options', () => {
  it('defaults to HTTP 8080 on every address, embedded broker on 1883, ./avcare-data, 7/90/365 days of retention, a reflector and the test schedule', () => {
    expect(parseCloudOptions({})).toEqual({
      httpPort: 8080,
      host: '0.0.0.0',
      mqttPort: 1883,
      collectorId: 'avcare-collector',
      dataDir: './avcare-data',
      mqttsPort: 8883,
      insecurePlaintext: false,
      insecureOpenBroker: false,
      auditAnchorSeconds: 60,
      retention: { rawHealthDays: 7, hourlyHealthDays: 90, eventDays: 365, auditDays: 1095 },
      reflector: { enabled: true, id: 'local', probePort: 0, probeHost: '0.0.0.0' },
      testSchedule: { enabled: true, everyMinutes: 30, roomReadyMinutes: 10, duringLessons: false, schoolHours: '07:30-17:30', schoolTimeZone: 'Asia/Shanghai' },
    });
  });

  it('refuses half a TLS pair, an external broker without the means to manage it, and an audit kept less than a year', () => {
    const refusal = (input: Parameters<typeof parseCloudOptions>[0]): string => {
      try {
        parseCloudOptions(input);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal({ tlsCert: 'cert.pem' })).toBe('--tls-key: give both --tls-cert and --tls-key');
    expect(refusal({ brokerUrl: 'mqtt://127.0.0.1:1883' })).toContain("--broker-user: an external broker needs the dynamic-security admin the cloud manages agents' access with");
    expect(refusal({ brokerUrl: 'mqtt://127.0.0.1:1883', brokerUser: 'admin' })).toBe('--broker-password-file: give both --broker-user and --broker-password-file');
    expect(refusal({ brokerUrl: 'mqtt://127.0.0.1:1883', insecureOpenBroker: true })).toBe('accepted');
    expect(refusal({ brokerUser: 'admin', brokerPasswordFile: 'pw' })).toBe('--broker-user: applies to an external broker: give --broker too');
    expect(refusal({ retention: { auditDays: '30' } })).toBe('--audit-retention-days: must be at least 365: the audit log is kept at least a year');
    expect(refusal({ metricsListen: 'anywhere' })).toBe('--metrics-listen: must be HOST:PORT, e.g. 127.0.0.1:9464');
    expect(refusal({ reflector: { ports: '40100-40000' } })).toBe('--reflector-ports: must be a range within 1024-65535, lowest first');
    expect(refusal({ testSchedule: { schoolHours: '8-17' } })).toBe('--school-hours: must be HH:MM-HH:MM, e.g. 07:30-17:30');
    expect(refusal({ testSchedule: { schoolTimeZone: 'Mars/Olympus' } })).toBe('--school-time-zone: must be an IANA time zone such as Asia/Shanghai');
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

  it('takes --trust-proxy as addresses and CIDR ranges, and names an entry that is neither', () => {
    expect(parseCloudOptions({ trustProxy: '127.0.0.1, ::1,10.0.0.0/8' }).trustProxy).toEqual(['127.0.0.1', '::1', '10.0.0.0/8']);
    expect(() => parseCloudOptions({ trustProxy: '127.0.0.1,proxy.example,10.0.0.0/33' })).toThrow(
      '--trust-proxy: proxy.example is not an IP address or CIDR range (e.g. 127.0.0.1 or 10.0.0.0/8); --trust-proxy: 10.0.0.0/33 is not an IP address or CIDR range',
    );
    expect(() => parseCloudOptions({ trustProxy: ' , ' })).toThrow('--trust-proxy: name at least one address');
  });
});
