import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.js';

/**
 * The web console as the page sees it: no script but our own files (no inline script, no eval),
 * styles from our files and the style attributes Element Plus sets on its popups, images and
 * audio from our origin or handed over as data (a snapshot, a clip), requests to our own API
 * only, and never inside another site's frame.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Hashed file names change with their content, so a browser keeps them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Where `npm run build` puts the console (dist/console), found from this file in dist/ or in the source tree. */
export function builtConsoleDir(from: string = fileURLToPath(import.meta.url)): string | undefined {
  for (let folder = dirname(from); folder !== dirname(folder); folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) {
      const built = join(folder, 'dist', 'console');
      return existsSync(join(built, 'index.html')) ? built : undefined;
    }
  }
  return undefined;
}

export interface ConsoleRoutesOptions {
  /** The built console (index.html and assets/); without it `/` says how to build it. */
  dir: string | undefined;
}

/**
 * The single-page console at `/`: its hashed assets served pre-compressed (brotli or gzip, made at
 * build time) with long cache lifetimes, and index.html, never cached, for `/` and every path the
 * page routes itself (a reload of /tickets/TK-... opens that page). /api, /healthz and /metrics
 * keep their own routes; an unknown /api path stays a JSON 404.
 */
export function consoleRoutes(app: FastifyInstance, { dir }: ConsoleRoutesOptions): void {
  const indexHtml = dir === undefined ? undefined : readFileSync(join(dir, 'index.html'));
  if (dir !== undefined) {
    // serve: false, and the route below: the plugin's own routes could not say that the assets need no sign-in.
    void app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      serve: false,
      preCompressed: true,
      index: false,
      cacheControl: false,
      setHeaders: (response) => {
        response.setHeader('cache-control', IMMUTABLE);
      },
    });
    app.get<{ Params: { '*': string } }>('/assets/*', { config: { access: 'public' } }, (request, reply) => reply.sendFile(request.params['*']));
  }

  const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply | void => {
    const path = request.url.split('?')[0] ?? '';
    const wantsPage = request.headers.accept === undefined || request.headers.accept.includes('text/html') || path === '/';
    if (path.startsWith('/api/') || path === '/api' || !wantsPage) {
      reply.callNotFound();
      return;
    }
    if (indexHtml === undefined) {
      throw new ApiError('CONSOLE_NOT_BUILT', 'the web console is not built in this installation: run `npm run build` (npm start does it), then restart the cloud; the API is at /api');
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(indexHtml);
  };
  app.get('/', { config: { access: 'public' } }, page);
  app.get('/*', { config: { access: 'public' } }, page);
  // An unknown API path is signed in like every API route: a stranger learns 401, never which routes exist.
  app.get('/api/*', (_request, reply) => {
    reply.callNotFound();
  });
}
