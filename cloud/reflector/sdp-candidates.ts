/**
 * A reflector behind NAT, or reached through a relay, must announce the address the agent can
 * reach instead of the one it bound: host candidates get that address, in the SDP and in trickled
 * candidates alike. Candidate grammar (RFC 8839 §5.1):
 *   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
 */
const CANDIDATE = /^((?:a=)?candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host\b.*)$/i;

export function announceCandidate(line: string, address: string): string {
  return line.replace(CANDIDATE, `$1${address}$3`);
}

export function announceSdp(sdp: string, address: string): string {
  return sdp
    .split(/\r\n/)
    .map((line) => (line.startsWith('a=candidate:') ? announceCandidate(line, address) : line))
    .join('\r\n');
}
