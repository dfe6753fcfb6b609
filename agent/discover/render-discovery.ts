import { printable } from '../render.js';
import type { Discovery } from './discover.js';

/** What `avcare-agent discover` prints: each device with what it said, and the line that adds it. */
export function renderDiscovery(found: Discovery): string {
  if (found.networks.length === 0) return 'No local IPv4 network to search (only loopback, or the --interface given has no IPv4 address).';
  const lines = [`Searched ${found.networks.map((network) => `${network.interface} ${network.address}/${network.prefix}`).join(', ')} for ${(found.durationMs / 1000).toFixed(1)} s.`, ''];
  lines.push(found.projectors.length === 0 ? 'No projector answered the PJLink search.' : 'Projectors (PJLink class 2 search):');
  for (const projector of found.projectors) {
    const said = [projector.manufacturer, projector.product, projector.name === undefined ? undefined : `"${projector.name}"`].filter((part) => part !== undefined).join(' ');
    lines.push(`  ${projector.address}  MAC ${projector.mac}${said ? `  ${printable(said)}` : ''}  (${printable(projector.access)})`);
    lines.push(`    add to "pjlink": ${printable(JSON.stringify(projector.config))}`);
  }
  lines.push(found.cameras.length === 0 ? 'No camera answered the VISCA-over-IP search.' : 'Cameras (Sony VISCA-over-IP search):');
  for (const camera of found.cameras) {
    const said = [camera.model, camera.name === undefined ? undefined : `"${camera.name}"`, camera.softwareVersion === undefined ? undefined : `software ${camera.softwareVersion}`].filter((part) => part !== undefined).join(' ');
    const moved = camera.reportedAddress === undefined ? '' : `  (says its address is ${camera.reportedAddress})`;
    lines.push(`  ${camera.address}${camera.mac ? `  MAC ${camera.mac}` : ''}${said ? `  ${printable(said)}` : ''}${printable(moved)}`);
    lines.push(`    add to "viscaIp": ${printable(JSON.stringify(camera.config))}`);
  }
  for (const note of found.notes) lines.push(`Note: ${printable(note)}`);
  if (found.ignored.length > 0) lines.push(`Ignored ${found.ignored.length} answer(s): ${found.ignored.slice(0, 5).map((answer) => `${answer.address} (${printable(answer.reason)})`).join('; ')}`);
  lines.push('', 'Projectors of PJLink class 1 and cameras that only speak raw VISCA do not answer searches: add them by address (probe --pjlink HOST, probe --visca-ip HOST).');
  return lines.join('\n');
}
