// One client of the broker bench in its own process. "direct" (an HmcClient
// on a session of its own) and "broker" (an HmcClient through the broker)
// take one block per line on stdin, "DATA_BYTES COUNT WARMUP", as
// node-client.js does, and print the round trips. "stream VIA COUNT
// IN_FLIGHT" keeps IN_FLIGHT echoes of 64 B in flight until COUNT are
// answered (after 500 unmeasured), waits for "go" on stdin first (so that
// several start together), and prints one JSON line.
'use strict';
const path = require('node:path');
const readline = require('node:readline');
const ibmvmc = require(path.resolve(__dirname, '..', '..', 'dist', 'cjs'));
const { timeRequests } = require('./stopwatch');

const [mode, devicePath, sysfsRoot, brokerSocket, ...rest] = process.argv.slice(2);

function connect(via) {
  return via === 'broker'
    ? ibmvmc.connect({ broker: brokerSocket, clientName: 'bench' })
    : ibmvmc.connect({ hmcId: 'bench-direct', path: devicePath, sysfsRoot });
}

async function block(via, data, count, warmup) {
  const client = await connect(via);
  const result = await timeRequests(client, data, count, warmup);
  await client.close();
  return result;
}

async function serve(via) {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [bytes, count, warmup] = line.trim().split(/\s+/).map(Number);
    const result = await block(via, Buffer.alloc(bytes, 0x5a), count, warmup);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

async function streamEchoes(client, count, inFlight) {
  const data = Buffer.alloc(64, 0x5a);
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await client.request({ target: 0x8000, opcode: 0x0103, data });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

async function stream(via, count, inFlight) {
  const client = await connect(via);
  await streamEchoes(client, 500, inFlight);
  process.stdout.write('ready\n');
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === 'go') break;
  lines.close();
  const t0 = process.hrtime.bigint();
  await streamEchoes(client, count, inFlight);
  const totalNs = Number(process.hrtime.bigint() - t0);
  await client.close();
  process.stdout.write(`${JSON.stringify({ messages: count, totalNs })}\n`);
}

const runs = {
  direct: () => serve('direct'),
  broker: () => serve('broker'),
  stream: () => stream(rest[0], Number(rest[1]), Number(rest[2])),
};
runs[mode]().catch((error) => {
  console.error(error);
  process.exit(1);
});
