// One benchmark client in its own process (LD_PRELOAD of the shim set by the
// runner). "session" (raw HmcSession) and "client" (HmcClient) live for the
// whole bench and take one line per block on stdin, "DATA_BYTES COUNT
// WARMUP": open, WARMUP round trips, COUNT timed ones, close, one JSON line
// out. "pipeline" (as many echoes in flight as the pool allows, with
// event-loop delay, a thread-pool probe, and streaming with the thread pool
// blocked) runs once with DATA_BYTES COUNT as arguments and prints one JSON
// line.
'use strict';
const path = require('node:path');
const readline = require('node:readline');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { Worker } = require('node:worker_threads');
const ibmvmc = require(path.resolve(__dirname, '..', '..', 'dist', 'cjs'));
const { blockThreadPool } = require('./block-thread-pool');
const { stopwatch, timeRequests } = require('./stopwatch');

const [mode, devicePath, sysfsRoot, ...rest] = process.argv.slice(2);
const now = () => process.hrtime.bigint();

function echoMessage(token, data) {
  return ibmvmc.encodeHmcMessage(
    { token, target: 0x8000, opcode: 0x0103, data },
    { maxLength: 16384 },
  );
}

async function sessionBlock(data, count, warmup) {
  const session = await ibmvmc.open({ hmcId: 'bench-session', path: devicePath, sysfsRoot });
  const message = echoMessage(1, data);
  const watch = stopwatch(count, warmup);
  for (let i = 0; i < watch.total; i++) {
    watch.lap(i);
    await session.send(message);
    await session.receive();
  }
  const result = watch.result();
  await session.close();
  return result;
}

// The floors under the library, for telling its cost from the platform's: the
// addon called directly, no session, no promises per message. "addon-spin"
// writes and then reads until the answer is there (no event loop at all);
// "addon-watch" writes and waits for the addon's readability watcher, the
// least any event-loop program pays.
function addonHandle() {
  const { binding } = require(
    path.resolve(__dirname, '..', '..', 'dist', 'cjs', 'native', 'binding'),
  );
  const handle = new (binding().DeviceHandle)(devicePath);
  handle.setHmcId(Buffer.alloc(32, 0x62));
  return handle;
}

// A write, retried while the driver says EBUSY (the open not yet answered).
function writeRetrying(handle, message) {
  for (;;) {
    try {
      return handle.write(message);
    } catch (error) {
      if (error.code !== 'EBUSY') throw error;
    }
  }
}

async function addonSpinBlock(data, count, warmup) {
  const handle = addonHandle();
  const message = echoMessage(1, data);
  const buffer = Buffer.alloc(Number(process.env.BENCH_MTU ?? 4096)); // a read over the MTU is EINVAL
  const watch = stopwatch(count, warmup);
  for (let i = 0; i < watch.total; i++) {
    watch.lap(i);
    writeRetrying(handle, message);
    while (handle.read(buffer) === null);
  }
  const result = watch.result();
  handle.close();
  return result;
}

async function addonWatchBlock(data, count, warmup) {
  const handle = addonHandle();
  const message = echoMessage(1, data);
  const buffer = Buffer.alloc(Number(process.env.BENCH_MTU ?? 4096)); // a read over the MTU is EINVAL
  let answered = () => {};
  handle.watch((error) => answered(error), buffer);
  const watch = stopwatch(count, warmup);
  for (let i = 0; i < watch.total; i++) {
    watch.lap(i);
    const answer = new Promise((resolve, reject) => {
      answered = (error) => (error ? reject(error) : resolve());
    });
    handle.setRef(true);
    writeRetrying(handle, message);
    await answer;
  }
  const result = watch.result();
  handle.unwatch();
  handle.close();
  return result;
}

async function clientBlock(data, count, warmup) {
  const client = await ibmvmc.connect({ hmcId: 'bench-client', path: devicePath, sysfsRoot });
  const result = await timeRequests(client, data, count, warmup);
  await client.close();
  return result;
}

async function serve(block) {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [bytes, count, warmup] = line.trim().split(/\s+/).map(Number);
    const result = await block(Buffer.alloc(bytes, 0x5a), count, warmup);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

// fs.stat calls per second on the libuv thread pool over `ms`, issued from a
// worker thread: workers share the process's pool but have their own event
// loop, so the figure moves only if the pool itself is busy, not if this
// thread is (with UV_THREADPOOL_SIZE=1, device I/O on the pool would halve it).
function poolProbe(ms) {
  const worker = new Worker(
    `const fs = require('node:fs');
     const { parentPort, workerData } = require('node:worker_threads');
     let done = 0;
     const until = Date.now() + workerData.ms;
     const loop = async () => { while (Date.now() < until) { await fs.promises.stat(workerData.file); done++; } };
     Promise.all([loop(), loop(), loop(), loop()]).then(() => parentPort.postMessage((done * 1000) / workerData.ms));`,
    { eval: true, workerData: { ms, file: __filename } },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

// Echoes with every buffer in use (16 senders, one reader) until `more()` says stop.
async function stream(session, message, inFlight, more) {
  let sent = 0;
  let received = 0;
  const senders = Array.from({ length: inFlight }, async () => {
    while (more(sent)) {
      sent++; // counted before the send starts: the reader waits for its answer
      await session.send(message);
    }
  });
  const reader = (async () => {
    while (more(sent) || received < sent) {
      await session.receive();
      received++;
    }
  })();
  await Promise.all([reader, ...senders]);
  return received;
}

async function pipelineRun() {
  const [dataBytes, total] = rest.map(Number);
  const session = await ibmvmc.open({ hmcId: 'bench-pipe', path: devicePath, sysfsRoot });
  const params = await ibmvmc.readModuleParameters({ sysfsRoot });
  const inFlight = Math.min(16, params.loaded ? params.bufPoolSize : 16);
  const message = echoMessage(7, Buffer.alloc(dataBytes, 0x5a));
  await stream(session, message, inFlight, (sent) => sent < 500); // warm-up

  // Throughput and event-loop delay: streaming alone.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const start = now();
  const messages = await stream(session, message, inFlight, (sent) => sent < total);
  const totalNs = Number(now() - start);
  histogram.disable();

  // The thread pool: fs.stat alone, then while streaming for as long as it runs.
  const statsAlone = await poolProbe(1500);
  let probing = true;
  const probe = poolProbe(1500).then((perSec) => ((probing = false), perSec));
  const [statsStreaming] = await Promise.all([
    probe,
    stream(session, message, inFlight, () => probing),
  ]);
  // The same streaming with the pool free, then with its only thread taken
  // for the whole run: device I/O that used the pool would stop.
  const streamPerSec = async () => {
    const t = now();
    const n = await stream(session, message, inFlight, (sent) => sent < total / 3);
    return (n * 1e9) / Number(now() - t);
  };
  const perSecPoolFree = await streamPerSec();
  const release = blockThreadPool();
  const perSecPoolBlocked = await streamPerSec();
  const poolBlockedAllAlong = await release();
  await session.close();
  return {
    inFlight,
    perSecPoolFree,
    perSecPoolBlocked,
    poolBlockedAllAlong,
    totalNs,
    messages,
    eventLoopDelayP99Ms: histogram.percentile(99) / 1e6,
    eventLoopDelayMaxMs: histogram.max / 1e6,
    fsStatPerSecAlone: statsAlone,
    fsStatPerSecStreaming: statsStreaming,
  };
}

const runs = {
  session: () => serve(sessionBlock),
  client: () => serve(clientBlock),
  'addon-spin': () => serve(addonSpinBlock),
  'addon-watch': () => serve(addonWatchBlock),
  pipeline: () => pipelineRun().then((result) => console.log(JSON.stringify(result))),
};
runs[mode]().catch((error) => {
  console.error(error);
  process.exit(1);
});
