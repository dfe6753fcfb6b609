import { createServer, type Server } from 'node:http';
import { AvcareError } from '../protocol/index.js';
import { listenOn } from './broker/port-errors.js';
import type { CloudMetrics } from './metrics.js';

/**
 * `--metrics-listen HOST:PORT`: /metrics without a token on an address of the operator's choice
 * (a management network, or 127.0.0.1 for a Prometheus on the same host). Nothing else is served.
 */
export async function startMetricsListener(metrics: CloudMetrics, address: string): Promise<{ url: string; close(): Promise<void> }> {
  const separator = address.lastIndexOf(':');
  const host = address.slice(0, separator).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(separator + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new AvcareError('INVALID_ARGUMENT', `--metrics-listen ${address}: the port must be 0 to 65535`);
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  const bound = await listenOn(server, { port, host, flag: '--metrics-listen' });
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
