/**
 * The licenses of the npm packages inside the bundle, gathered from esbuild's metafile: the binary redistributes
 * their code, and their licenses (MIT and alike) ask for their notices to travel with it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';

interface BundledPackage {
  name: string;
  version: string;
  license: string;
  text: string | undefined;
}

/** `node_modules/@scope/name/lib/x.js` → `node_modules/@scope/name` (the innermost package of a nested path). */
export function packageDir(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

async function describePackage(root: string, dir: string): Promise<BundledPackage> {
  const manifest = JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license?: string;
  };
  const file = (await readdir(join(root, dir))).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  return {
    name: manifest.name,
    version: manifest.version,
    license: manifest.license ?? 'see its package',
    text: file === undefined ? undefined : (await readFile(join(root, dir, file), 'utf8')).trim(),
  };
}

/** Writes `output`: one section per bundled package with its license text. Returns the package names. */
export async function writeLicenses(metafile: Metafile, root: string, output: string): Promise<string[]> {
  const dirs = [...new Set(Object.keys(metafile.inputs).map(packageDir))].filter((d) => d !== undefined);
  const packages = (await Promise.all(dirs.map((dir) => describePackage(root, dir)))).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  const sections = packages.map(
    (p) =>
      `== ${p.name} ${p.version} (${p.license}) ==\n\n${p.text ?? `No license file in the package; its manifest says ${p.license}.`}\n`,
  );
  await writeFile(
    output,
    'pinger-agent bundles the npm packages below (and Node.js itself: LICENSE.node). Their licenses follow.\n\n' +
      sections.join('\n'),
  );
  return packages.map((p) => p.name);
}
