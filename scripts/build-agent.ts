/**
 * `npm run build:agent [-- --out DIR]`: builds the installable agent for this machine's platform into DIR
 * (default dist/agent): the single executable on the pinned Node (scripts/build-agent/runtime), raw.node and
 * pinger_native.node beside it, install.sh, the systemd unit, a tar.gz.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildAgent } from './build-agent/build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'agent') } } });
const started = performance.now();
const built = await buildAgent({ root, outDir: resolve(values.out) });
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const show = (path: string) => relative(process.cwd(), path) || '.';
console.log(`built ${show(built.dir)}/ on node ${built.node} in ${((performance.now() - started) / 1000).toFixed(1)} s
  ${show(built.binary)}  ${mb(built.binaryBytes)}
  ${show(built.tarball)}  ${mb(built.tarballBytes)}  sha256 ${built.sha256}`);
