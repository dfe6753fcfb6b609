import { describe, expect, it } from 'vitest';
import { untrustedMultiline, untrustedText } from './untrusted-text.js';

describe('untrustedText', () => {
  it('turns terminal escapes and NULs into spaces and drops bidi overrides', () => {
    expect(untrustedText('Logi\u0000tech\u001b[2J \u202eCam', 64)).toBe('Logi tech [2J Cam');
  });

  it('caps by code points without cutting a multi-byte character', () => {
    expect(untrustedText('投影仪投影仪', 4)).toBe('投影仪投');
    expect(untrustedText('😀😀😀', 2)).toBe('😀😀');
  });

  it('gives undefined for a string with nothing printable', () => {
    expect(untrustedText(' \u0007\u200e ', 10)).toBeUndefined();
  });

  it('turns line and paragraph separators into spaces and drops every bidirectional control', () => {
    expect(untrustedText('front\u2028camera\u2029ok \u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202d\ufeffx', 64)).toBe('front camera ok x');
  });
});

describe('untrustedMultiline', () => {
  it('keeps line breaks as plain newlines, from every form, and drops controls and bidi overrides', () => {
    expect(untrustedMultiline('reseated\r\nthe cable\u2028then\u2029rebooted\u0085done', 200)).toBe('reseated\nthe cable\nthen\nrebooted\ndone');
    expect(untrustedMultiline('cause:\t\u202eelbac esool\u202c\u001b[31m', 200)).toBe('cause: elbac esool [31m');
    expect(untrustedMultiline('a\n\n\n\n\nb', 200)).toBe('a\n\nb');
    expect(untrustedMultiline(' \u2028\u200f ', 10)).toBeUndefined();
    expect(untrustedMultiline('投影仪投影仪', 4)).toBe('投影仪投');
  });
});
