/**
 * Builds the dashboard (web/) into static files: one minified entry script (plus the chunks of the pages it loads
 * on demand) and one stylesheet, with content hashes in their names, and index.html naming them. esbuild bundles Preact and uPlot in: nothing is fetched at run time.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface BuiltWeb {
  dir: string;
  /** Files written, relative to `dir`, with their raw and gzip sizes in bytes. */
  files: { path: string; bytes: number; gzipBytes: number }[];
}

/** Builds web/ under `root` into `outDir` (replacing what was there). */
export async function buildWeb(options: { root: string; outDir: string }): Promise<BuiltWeb> {
  const { root, outDir } = options;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/src/main.tsx' },
    bundle: true,
    minify: true,
    format: 'esm',
    // The pages imported with import() (destination, census: uPlot) in chunks loaded when first shown.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    target: ['chrome111', 'firefox113', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Development-only branches of the libraries go.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined)?.[0];
  const script = entry === undefined ? undefined : basename(entry);
  const style = outputs.find((p) => p.endsWith('.css'));
  if (!script || !style) throw new Error(`[build:web] expected a script and a stylesheet, got ${outputs}`);
  // The chunks the entry imports statically, asked beside it rather than after it has been parsed.
  const preload = (entry === undefined ? [] : result.metafile.outputs[entry]!.imports)
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="/assets/${basename(i.path)}" />`)
    .join('\n    ');
  const html = readFileSync(join(root, 'web/index.html'), 'utf8')
    .replace('%PRELOAD%', preload)
    .replace('%SCRIPT%', `/assets/${script}`)
    .replace('%STYLE%', `/assets/${style}`);
  writeFileSync(join(outDir, 'index.html'), html);
  const files = ['index.html', ...outputs.map((p) => `assets/${p}`)].map((path) => {
    const bytes = readFileSync(join(outDir, path));
    return {
      path,
      bytes: statSync(join(outDir, path)).size,
      gzipBytes: gzipSync(bytes, { level: 9 }).length,
    };
  });
  return { dir: outDir, files };
}
