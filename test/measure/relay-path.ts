/**
 * Forces a measurement's UDP through the impaired relay: the agent's own candidates are withheld
 * from the reflector (it learns the agent's address from the relay's packets, as peer-reflexive),
 * and the reflector's one IPv4 UDP host candidate is replaced by the relay's address, which
 * forwards to it. No direct path is left (shared/domain.md: strip a=candidate lines).
 */
import type { AgentSignal, CloudSignal } from '../../protocol/measure-signal.js';
import type { RelayHandle } from '../sim/relay-process.js';

const HOST_UDP4 = /^(?:a=)?candidate:\S+ \d+ udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host\b/i;

export class RelayPath {
  private target: { address: string; port: number } | undefined;

  /**
   * `probe` carries the throttling check's UDP flow to the reflector's probe port at `probeHost`
   * (impaired like the media); its bulk TCP goes straight there, so a UDP-only cap leaves it alone.
   */
  constructor(
    private readonly relay: RelayHandle,
    private readonly probe?: { relay: RelayHandle; probeHost: string },
  ) {}

  /** What the agent sends, as the reflector should see it; undefined to withhold it. */
  toReflector(message: AgentSignal): AgentSignal | undefined {
    if (message.type === 'candidate') return undefined;
    if (message.type === 'offer') return { ...message, sdp: stripCandidates(message.sdp) };
    return message;
  }

  /** What the reflector sends, as the agent should see it. */
  async toAgent(message: CloudSignal): Promise<CloudSignal | undefined> {
    if (message.type === 'answer') {
      const lines = message.sdp.split('\r\n');
      const kept: string[] = [];
      for (const line of lines) {
        if (!line.startsWith('a=candidate:')) kept.push(line);
        else {
          const rewritten = await this.rewrite(line);
          if (rewritten) kept.push(rewritten);
        }
      }
      const probe = this.probe;
      if (!message.bulk || !probe) return { ...message, sdp: kept.join('\r\n') };
      await probe.relay.retarget({ address: probe.probeHost, port: message.bulk.udpPort });
      return { ...message, sdp: kept.join('\r\n'), bulk: { ...message.bulk, host: probe.probeHost, udpPort: probe.relay.port } };
    }
    if (message.type === 'candidate') {
      const rewritten = await this.rewrite(message.candidate.candidate);
      return rewritten ? { ...message, candidate: { ...message.candidate, candidate: rewritten } } : undefined;
    }
    return message;
  }

  private async rewrite(line: string): Promise<string | undefined> {
    const match = HOST_UDP4.exec(line);
    if (!match || this.target) return undefined;
    this.target = { address: match[1] ?? '', port: Number(match[2]) };
    await this.relay.retarget(this.target);
    return line.replace(`${match[1]} ${match[2]} typ host`, `${this.relay.host} ${this.relay.port} typ host`);
  }
}

function stripCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:'))
    .join('\r\n');
}
