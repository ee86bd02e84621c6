import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

/**
 * The folder holding this package's package.json, found by walking up from
 * this file: the same code runs from `lib/` under ts-jest and from `dist/cjs/`.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'ibmvmc') return (root = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`ibmvmc: cannot find the package root above ${__dirname}`);
    dir = parent;
  }
}
