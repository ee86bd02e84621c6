'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The fake device's preload shim for this machine, or undefined if none is built. */
function findPreload(root) {
  const candidates = [
    path.join(root, 'build', 'Release', 'ibmvmc_fake_preload.so'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'ibmvmc_fake_preload.so'),
  ];
  return candidates.find((file) => fs.existsSync(file));
}

module.exports = { findPreload };
