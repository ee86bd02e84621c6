// Takes the libuv thread pool's only thread (run with UV_THREADPOOL_SIZE=1)
// until release(): opening a FIFO for reading blocks in open() until a writer
// comes. release() resolves true if an fs.stat queued behind that open had not
// run by then, i.e. the pool really was blocked all along. Used by the bench
// and by the test that device I/O never needs the pool.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function blockThreadPool() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibmvmc-pool-'));
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = fs.promises.open(fifo, 'r');
  let statRan = false;
  const stat = fs.promises.stat(dir).then(() => (statRan = true));
  return async () => {
    const blockedAllAlong = !statRan;
    const writer = fs.openSync(fifo, 'w'); // returns at once: a reader is waiting
    await (await reader).close();
    await stat;
    fs.closeSync(writer);
    fs.rmSync(dir, { recursive: true, force: true });
    return blockedAllAlong;
  };
}

module.exports = { blockThreadPool };
