/** What the cloud says at the terminal when it is up: where to connect, what it runs with, how to sign in. */
import { runnableCommand } from '../../protocol/runnable-command.js';
import type { RunningCloud } from '../main.js';

/** The lines printed when the cloud is up: where a person, Prometheus and the agents connect. */
export function describeCloud(cloud: RunningCloud): string {
  const brokerLine =
    cloud.mqtt.mode === 'embedded' ? `${cloud.mqtt.url}   (embedded broker: enrolled agents connect here)` : `${cloud.mqtt.url}   (external broker, subscribed)`;
  const listening = cloud.options.host === '0.0.0.0' ? '\n  (listening on every address of this machine)' : '';
  return [
    cloud.consoleServed
      ? `  console   ${cloud.httpUrl}   (open it in a browser and sign in)`
      : `  console   not built in this installation: run \`npm run build\`, then start again`,
    `  index     ${cloud.httpUrl}api   (the API's routes as JSON, signed in)`,
    `  API       ${cloud.httpUrl}api/agents   (sign in: ${runnableCommand('avcare-cloud')} login --url ${cloud.httpUrl.replace(/\/$/, '')} --user NAME)`,
    `  health    ${cloud.httpUrl}healthz`,
    `  metrics   ${cloud.metricsUrl ?? `${cloud.httpUrl}metrics   (operator token or --metrics-token-file)`}`,
    `  MQTT      ${brokerLine}`,
    ...(cloud.mqtt.mode === 'embedded' && cloud.mqtt.tlsUrl !== undefined ? [`  MQTTS     ${cloud.mqtt.tlsUrl}`] : []),
    `  access    ${cloud.security.registry.brokerAccess.description}`,
    `  service   ${describeService(cloud.service)}`,
    `  database  ${cloud.database}${listening}`,
  ].join('\n');
}

/** Where the service configuration (teams, schools, contracts) came from: a person must see when it is none or an old one. */
function describeService(service: RunningCloud['service']): string {
  const counts = `${service.summary.teams ?? 0} teams, ${service.summary.schools ?? 0} schools, ${service.summary.regions ?? 0} regions`;
  if (service.origin === 'given') return `${service.source ?? '?'} (${counts}); recorded in ${service.recordFile} for the next start`;
  if (service.origin === 'recorded') {
    return `no --service given: using ${service.source ?? '?'} as an earlier start recorded it on ${service.recordedAt ?? '?'} (${counts}); give --service FILE to change it`;
  }
  return 'none: no service teams, so tickets open unrouted and engineers see no school (give --service FILE)';
}

/** The lines that tell the person at the terminal how to sign in the first time (the password only this once). */
export function describeFirstRun(cloud: RunningCloud): string {
  if (!cloud.firstRun.created) return '';
  const url = cloud.httpUrl.replace(/\/$/, '');
  if (cloud.firstRun.oneTimePassword === undefined) {
    return `Created the operator account "${cloud.firstRun.name}" with the password from --admin-password-file.\nSign in: ${runnableCommand('avcare-cloud')} login --url ${url} --user ${cloud.firstRun.name}\n     or: open ${cloud.httpUrl} in a browser and sign in as ${cloud.firstRun.name}\n`;
  }
  return [
    `Created the operator account "${cloud.firstRun.name}". Its one-time password (shown only now; you choose your own at the first sign-in):`,
    '',
    `    ${cloud.firstRun.oneTimePassword}`,
    '',
    `Sign in: ${runnableCommand('avcare-cloud')} login --url ${url} --user ${cloud.firstRun.name}`,
    `     or: open ${cloud.httpUrl} in a browser and sign in as ${cloud.firstRun.name}`,
    '',
  ].join('\n');
}
