/**
 * The arrows between the project's layers point down only (DESIGN.md, "Layout"): cli/ and web/ sit on top and may
 * start the agent and the control plane; agent/ and control-plane/ each use contract/ and never each other;
 * contract/ uses nothing of ours. A file under a lower layer that imports from a layer above it or across is
 * named here with the import that breaks the rule.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** What each guarded layer may import from the project, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  contract: [],
  agent: ['contract'],
  'control-plane': ['contract'],
  web: ['contract'],
};

/** Every module specifier in a file: static imports and re-exports, dynamic `import()`, `require()`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])([^'"\n]+)\1/g;

interface Violation {
  file: string;
  specifier: string;
  layer: string;
  target: string;
}

/** The import-rule breaks in one file (`file` relative to the repository root, posix separators). */
function violationsIn(file: string, text: string): Violation[] {
  const layer = file.split('/')[0] ?? '';
  const allowed = ALLOWED[layer];
  if (!allowed) return [];
  const found: Violation[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[2] ?? '';
    if (!specifier.startsWith('.')) continue; // packages and node: builtins are not layers
    const target = posix.normalize(posix.join(posix.dirname(file), specifier));
    const targetLayer = target.split('/')[0] ?? '';
    if (targetLayer === layer || allowed.includes(targetLayer)) continue;
    found.push({ file, specifier, layer, target: targetLayer });
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' });
  } catch {
    return []; // a layer that does not exist yet (web/) has nothing to break
  }
  return entries
    .filter((entry) => /\.(?:[cm]?[jt]s|tsx|jsx)$/.test(entry) && !entry.split('/').includes('node_modules'))
    .filter((entry) => !entry.split('/').includes('build'))
    .map((entry) => posix.join(dir, entry.split('\\').join('/')));
}

describe('import layers', () => {
  it('no file under agent/, contract/, control-plane/ or web/ imports from a layer above it or across', () => {
    const files = Object.keys(ALLOWED).flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(80);
    const breaks = files.flatMap((file) => violationsIn(file, readFileSync(join(ROOT, file), 'utf8')));
    expect(breaks.map((v) => `${v.file} imports ${v.specifier} (${v.layer} → ${v.target})`)).toEqual([]);
  });

  it('names an import back up, an import across and a dynamic one', () => {
    const text = [
      "import { runProgram } from '../../cli/run.js';",
      "export { createApp } from '../../control-plane/app.js';",
      "const { startAgent } = await import('../../agent/main.js');",
      "import type { Result } from '../../contract/index.js';",
      "import { Command } from 'commander';",
      "import './side-effect.js';",
    ].join('\n');
    expect(violationsIn('agent/config/x.ts', text).map((v) => v.target)).toEqual(['cli', 'control-plane']);
    expect(violationsIn('control-plane/store/x.ts', text).map((v) => v.target)).toEqual(['cli', 'agent']);
    expect(violationsIn('contract/x.ts', "import '../agent/side.js';").map((v) => v.target)).toEqual([
      'agent',
    ]);
    expect(violationsIn('cli/commands/x.ts', text)).toEqual([]);
  });
});
