#!/usr/bin/env node
// ES module entry points over the CommonJS build, so `import` and `require`
// share one instance of every class (instanceof works across both).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.resolve(__dirname, '..', 'dist');
for (const entry of ['index', 'fake/index']) {
  const cjsFile = path.join(dist, 'cjs', `${entry}.js`);
  if (!fs.existsSync(cjsFile)) continue;
  const names = Object.keys(require(cjsFile)).filter((n) => n !== 'default' && n !== '__esModule');
  const esmFile = path.join(dist, 'esm', `${entry}.mjs`);
  const rel = path.relative(path.dirname(esmFile), cjsFile).split(path.sep).join('/');
  fs.mkdirSync(path.dirname(esmFile), { recursive: true });
  fs.writeFileSync(
    esmFile,
    // createRequire rather than `import cjs from`: tools that run modules through their own
    // transform (Vitest on a linked install) give a CommonJS default import another shape.
    `import { createRequire } from 'node:module';\n` +
      `const cjs = createRequire(import.meta.url)('./${rel}');\n` +
      `export const { ${names.join(', ')} } = cjs;\n` +
      'export default cjs;\n',
  );
  fs.writeFileSync(
    esmFile.replace(/\.mjs$/, '.d.mts'),
    `export * from './${path.relative(path.dirname(esmFile), cjsFile).replace(/\.js$/, '.js').split(path.sep).join('/')}';\n`,
  );
}
