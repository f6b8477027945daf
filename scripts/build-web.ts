/**
 * `npm run build:web [-- --out DIR]`: builds the dashboard into DIR (default web/dist), which the control plane
 * serves at `/`. `npm ci` runs it (the `prepare` script), so a fresh clone serves the dashboard without a step
 * to forget; run it again after changing web/.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildWeb } from './build-web/build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'web', 'dist') } } });
const built = await buildWeb({ root, outDir: resolve(values.out) });
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
console.log(`built ${relative(process.cwd(), built.dir) || '.'}/`);
for (const f of built.files) console.log(`  ${f.path}  ${kb(f.bytes)}  (gzip ${kb(f.gzipBytes)})`);
