import { out } from '../i18n/i18n.js';
import { printable } from '../render.js';
import type { DiscoveredProjector, Discovery } from './discover.js';

/** What `avcare-agent discover` prints: each device with what it said, and the line that adds it. */
export function renderDiscovery(found: Discovery): string {
  const { t } = out();
  if (found.networks.length === 0) return t('discover.noNetwork');
  const networks = found.networks.map((network) => `${network.interface} ${network.address}/${network.prefix}`).join(', ');
  const lines = [t('discover.searched', { networks, seconds: (found.durationMs / 1000).toFixed(1) }), ''];
  lines.push(found.projectors.length === 0 ? t('discover.noProjector') : t('discover.projectors'));
  for (const projector of found.projectors) {
    const said = [projector.manufacturer, projector.product, projector.name === undefined ? undefined : `"${projector.name}"`].filter((part) => part !== undefined).join(' ');
    lines.push(`  ${projector.address}  MAC ${projector.mac}${said ? `  ${printable(said)}` : ''}  (${printable(access(projector))})`);
    lines.push(t('discover.addPjlink', { config: printable(JSON.stringify(projector.config)) }));
  }
  lines.push(found.cameras.length === 0 ? t('discover.noCamera') : t('discover.cameras'));
  for (const camera of found.cameras) {
    const software = camera.softwareVersion === undefined ? undefined : t('discover.software', { version: camera.softwareVersion });
    const said = [camera.model, camera.name === undefined ? undefined : `"${camera.name}"`, software].filter((part) => part !== undefined).join(' ');
    const moved = camera.reportedAddress === undefined ? '' : `  ${t('discover.reportedAddress', { address: camera.reportedAddress })}`;
    lines.push(`  ${camera.address}${camera.mac ? `  MAC ${camera.mac}` : ''}${said ? `  ${printable(said)}` : ''}${printable(moved)}`);
    lines.push(t('discover.addVisca', { config: printable(JSON.stringify(camera.config)) }));
  }
  for (const note of found.notes) lines.push(t('discover.note', { note: printable(note) }));
  if (found.ignored.length > 0) {
    const list = found.ignored.slice(0, 5).map((answer) => `${answer.address} (${printable(answer.reason)})`).join('; ');
    lines.push(t('discover.ignored', { count: found.ignored.length, list }));
  }
  lines.push('', t('discover.classOne'));
  return lines.join('\n');
}

function access(projector: DiscoveredProjector): string {
  const { t } = out();
  switch (projector.access) {
    case 'open':
      return t('discover.access.open');
    case 'password':
      return t('discover.access.password');
    default:
      return `${t('discover.access.unreachable')}${projector.accessDetail ? `: ${projector.accessDetail}` : ''}`;
  }
}
