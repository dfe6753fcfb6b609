import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.js';
import { configuredSecrets, scrubKnownSecretsDeep, scrubSecrets } from './scrub-secrets.js';

describe('scrubSecrets', () => {
  it.each([
    ['URL userinfo', 'broker connection failed url=mqtt://agent:hunter2@cloud.example:1883', 'url=mqtt://[redacted]@cloud.example:1883'],
    ['a token as userinfo', 'GET https://ghp_abc123@example.com/x', 'https://[redacted]@example.com/x'],
    ['password=', 'login password=hunter2 ok', 'login password=[redacted] ok'],
    ['a query token', 'fetch /api?token=abc.def&x=1', '/api?token=[redacted]&x=1'],
    ['key: value', 'api_key: 9f8e7d', 'api_key: [redacted]'],
    ['a prefixed key', 'db_password=xyz MQTT.PASSWORD=abc', 'db_password=[redacted] MQTT.PASSWORD=[redacted]'],
    ['a JSON field', '{"user":"li","password":"a \\"quoted\\" one","n":1}', '{"user":"li","password":"[redacted]","n":1}'],
    ['an unquoted JSON value', '{"token":12345}', '{"token":[redacted]}'],
    ['a quoted value with spaces', "secret='two words' rest", "secret='[redacted]' rest"],
    ['a bearer header', 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y', 'Authorization: Bearer [redacted]'],
    ['an avcare enrollment token pasted anywhere', 'ran enroll with avc_et_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_xyz ok', 'ran enroll with [redacted] ok'],
  ])('removes %s', (_name, line, expected) => {
    expect(scrubSecrets(line)).toContain(expected);
    expect(scrubSecrets(line)).not.toMatch(/hunter2|abc\.def|9f8e7d|xyz|quoted|12345|two words|eyJ|avc_et_/);
  });

  it('removes configured secrets verbatim wherever they appear, also JSON-escaped and URL-encoded', () => {
    const secrets = ['classroom42', 'p@ss"w/rd'];
    expect(scrubSecrets('PJLINK auth with classroom42 failed', secrets)).toBe('PJLINK auth with [redacted] failed');
    expect(scrubSecrets('{"note":"p@ss\\"w/rd"}', secrets)).toBe('{"note":"[redacted]"}');
    expect(scrubSecrets('mqtt://x/?q=p%40ss%22w%2Frd', secrets)).toBe('mqtt://x/?q=[redacted]');
  });

  it('leaves ordinary lines alone, and a very short configured secret (it would blank every number)', () => {
    const line = '2026-11-23T08:00:00.000Z WARN pjlink: lamp 12 hours on 10.0.0.5:4352 bypass=on passwords_checked=3';
    expect(scrubSecrets(line, ['12'])).toBe(line);
  });

  it('is idempotent: scrubbing a scrubbed line changes nothing', () => {
    const once = scrubSecrets('password=a token: b "secret":"c" mqtt://u:p@h Bearer abcdefgh', ['hunter2']);
    expect(scrubSecrets(once, ['hunter2'])).toBe(once);
    expect(once).toBe('password=[redacted] token: [redacted] "secret":"[redacted]" mqtt://[redacted]@h Bearer [redacted]');
  });
});

describe('scrubKnownSecretsDeep', () => {
  it('replaces secrets in every string of a value and leaves keys, numbers and shape alone', () => {
    const value = { a: ['x classroom42 y', 42], b: { classroom42: 'classroom42', n: null, ok: true } };
    expect(scrubKnownSecretsDeep(value, ['classroom42'])).toEqual({ a: ['x [redacted] y', 42], b: { classroom42: '[redacted]', n: null, ok: true } });
  });
});

describe('configuredSecrets', () => {
  it('collects the broker password, the password in the broker URL and every PJLink password', () => {
    const config = parseAgentConfig({
      broker: { url: 'mqtts://agent:url%3Apw@cloud.example:8883', username: 'agent', password: 'broker-pw' },
      pjlink: [{ host: '10.0.0.5', password: 'classroom42' }, { host: '10.0.0.6' }],
    });
    expect(configuredSecrets(config).sort()).toEqual(['broker-pw', 'classroom42', 'url:pw']);
    expect(configuredSecrets(parseAgentConfig({}))).toEqual([]);
  });
});
