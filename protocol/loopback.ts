import { isIP } from 'node:net';

/**
 * Loopback is 127.0.0.0/8 and ::1, also written IPv4-mapped: traffic that never leaves this
 * machine, where credentials may travel without TLS.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1' || plain === '0:0:0:0:0:0:0:1';
}

/** A URL's host name that names this machine: a loopback address (IPv6 in brackets) or localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || isLoopbackAddress(bare);
}
