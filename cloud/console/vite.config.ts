import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', '..', 'dist', 'console');
/** School networks are slow and often closed: the first page may load at most this much compressed script. */
const FIRST_PAGE_SCRIPT_LIMIT = 500 * 1024;

interface ChunkFacts {
  type: 'chunk' | 'asset';
  fileName: string;
  isEntry?: boolean;
  imports?: readonly string[];
}

/**
 * Writes a brotli and a gzip copy beside every text asset (the cloud serves them as they are, with
 * no compression work per request), prints what the first page costs, and fails the build when
 * its script passes the limit: lazy-load instead.
 */
function precompressAndMeasure(): Plugin {
  return {
    name: 'avcare-precompress',
    apply: 'build',
    writeBundle(_options, bundle) {
      const sizes = new Map<string, number>();
      for (const file of Object.values(bundle) as ChunkFacts[]) {
        if (!/\.(js|css|svg|json|html)$/.test(file.fileName)) continue;
        const path = join(outDir, file.fileName);
        const raw = readFileSync(path);
        const brotli = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
        writeFileSync(`${path}.br`, brotli);
        writeFileSync(`${path}.gz`, gzipSync(raw, { level: 9 }));
        sizes.set(file.fileName, brotli.length);
      }
      const chunks = new Map((Object.values(bundle) as ChunkFacts[]).filter((file) => file.type === 'chunk').map((file) => [file.fileName, file]));
      const firstPage = new Set<string>();
      const visit = (name: string): void => {
        if (firstPage.has(name)) return;
        firstPage.add(name);
        for (const imported of chunks.get(name)?.imports ?? []) visit(imported);
      };
      for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName);
      const sum = (names: Iterable<string>): number => [...names].reduce((total, name) => total + (sizes.get(name) ?? 0), 0);
      const report = {
        firstPageScriptBytes: sum(firstPage),
        allScriptBytes: sum([...chunks.keys()]),
        cssBytes: sum([...sizes.keys()].filter((name) => name.endsWith('.css'))),
        limitBytes: FIRST_PAGE_SCRIPT_LIMIT,
        compression: 'brotli',
      };
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, 'bundle-size.json'), `${JSON.stringify(report, null, 2)}\n`);
      const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
      console.log(`console: the first page loads ${kb(report.firstPageScriptBytes)} of script (brotli; limit ${kb(FIRST_PAGE_SCRIPT_LIMIT)}), ${kb(report.allScriptBytes)} in all, ${kb(report.cssBytes)} of CSS`);
      if (report.firstPageScriptBytes > FIRST_PAGE_SCRIPT_LIMIT) {
        throw new Error(`the console's first page loads ${kb(report.firstPageScriptBytes)} of compressed script, over the ${kb(FIRST_PAGE_SCRIPT_LIMIT)} limit: lazy-load what it does not need`);
      }
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  // No public/ folder: every file the console serves is hashed and comes through the bundle.
  publicDir: false,
  plugins: [vue(), precompressAndMeasure()],
  define: {
    // vue-i18n compiles messages without eval (the page's CSP has no 'unsafe-eval'); no legacy API, no devtools in production.
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
    __VUE_OPTIONS_API__: false,
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: false,
  },
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline script anywhere: the module-preload polyfill would be one, and every browser we serve has modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: ['chrome87', 'firefox78', 'safari14', 'edge88'],
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: true,
  },
  server: {
    // `vite` in cloud/console during development: the API of a cloud running on this machine.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
