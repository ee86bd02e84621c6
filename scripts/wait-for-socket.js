// Waits until something accepts connections on a Unix socket: a broker the
// bench or the soak started in a child process is ready.
'use strict';
const net = require('node:net');

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

module.exports = { waitForSocket };
