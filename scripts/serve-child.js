// `ibmvmc serve` in a child process for the bench and the soak: started on a
// fake's environment, ready once its socket accepts connections, stopped with
// SIGTERM (its clean stop: anything but exit 0 is a failure). Its JSON log
// goes to a file, shown only when something went wrong.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const CLI = path.resolve(__dirname, '..', 'dist', 'cjs', 'cli', 'main.js');

/** Resolves once `socketPath` accepts a connection; rejects after `ms`. */
function waitForSocket(socketPath, ms) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.createConnection({ path: socketPath });
      s.once('connect', () => (s.destroy(), resolve()));
      s.once('error', () => {
        if (Date.now() > until) reject(new Error(`no broker on ${socketPath} after ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts the broker on `socket` and waits until it listens.
 *
 * @param env - the fake's environment (its preload shim makes /dev/ibmvmc the fake)
 * @param socket - the broker's socket path (its log goes beside it)
 * @param nodeArgs - options for node itself (heap sizes)
 * @returns `{ pid, stop() }`; `stop()` resolves once it exited 0, rejects with its log otherwise
 */
async function startServe(env, socket, nodeArgs = []) {
  const logPath = `${socket}.log`;
  const log = fs.openSync(logPath, 'w');
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', '--socket', socket], {
    env,
    stdio: ['ignore', 'ignore', log],
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const failed = (what) =>
    new Error(`the broker ${what}; its log:\n${fs.readFileSync(logPath, 'utf8')}`);
  await Promise.race([
    waitForSocket(socket, 10_000),
    exited.then(({ code, signal }) => Promise.reject(failed(`exited ${code ?? signal}`))),
  ]);
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const { code, signal } = await exited;
      if (code !== 0) throw failed(`exited ${code ?? signal} on SIGTERM`);
    },
  };
}

module.exports = { startServe };
