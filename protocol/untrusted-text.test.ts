import { describe, expect, it } from 'vitest';
import { untrustedText } from './untrusted-text.js';

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
});
