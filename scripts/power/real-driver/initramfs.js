// The guest's initramfs: the cached base (busybox and ppc64le Node, from
// guest-root.sh) with a per-run archive appended (the kernel unpacks
// concatenated cpio archives in order, later files winning).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/**
 * Writes `out`: `base` followed by a newc archive of `entries`, each
 * `{ from, to, mode? }` (a file or a directory, copied whole; `to` is the
 * absolute path in the guest).
 */
function buildInitrd({ base, out, stage, entries }) {
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const { from, to, mode } of entries) {
    const dest = path.join(stage, to);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    // Links inside copied trees (node_modules/.bin) stay as they are: relative, valid in the guest.
    fs.cpSync(from, dest, { recursive: true, verbatimSymlinks: true });
    if (mode !== undefined) fs.chmodSync(dest, mode);
  }
  const archive = execFileSync(
    '/bin/sh',
    ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet'],
    { cwd: stage, maxBuffer: 1 << 30 },
  );
  fs.copyFileSync(base, out);
  fs.appendFileSync(out, archive);
  fs.rmSync(stage, { recursive: true, force: true });
  return out;
}

module.exports = { buildInitrd };
