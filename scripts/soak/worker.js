// The soak's client process (started by scripts/soak/run.js with the fake's
// environment): echoes through one session with a window of messages in
// flight, then opens and closes sessions, sampling its own memory and open
// descriptors. Prints one JSON line per phase and never calls process.exit:
// the runner checks that it ends by itself once its work is done.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ibmvmc = require(path.resolve(__dirname, '..', '..', 'dist', 'cjs'));

const [devicePath, sysfsRoot, messagesArg, cyclesArg, windowArg] = process.argv.slice(2);
const MESSAGES = Number(messagesArg);
const CYCLES = Number(cyclesArg);
const WINDOW = Number(windowArg);
const SAMPLES = 50;
const DATA = Buffer.alloc(64, 0x5a);

// Retained memory, not garbage not yet collected (run with --expose-gc).
function sample(done) {
  global.gc();
  return {
    done,
    rssBytes: process.memoryUsage.rss(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    fds: fs.readdirSync('/proc/self/fd').length,
  };
}

function echo(token) {
  return ibmvmc.encodeHmcMessage({ token, target: 0x8000, opcode: 0x0103, data: DATA });
}

// Tokens 1..0xFFFFFFFF in turn: every answer must carry the next one expected.
const tokenOf = (i) => (i % 0xffffffff) + 1;

async function echoes() {
  const samples = [sample(0)];
  const every = Math.max(1, Math.floor(MESSAGES / SAMPLES));
  const session = await ibmvmc.open({ hmcId: 'soak-echo', path: devicePath, sysfsRoot });
  let sent = 0;
  let received = 0;
  let wakeSender = null;
  const started = process.hrtime.bigint();
  const receiver = (async () => {
    while (received < MESSAGES) {
      const answer = ibmvmc.decodeHmcMessage(await session.receive());
      if (answer.token !== tokenOf(received) || !answer.data.equals(DATA)) {
        throw new Error(
          `answer ${received} carries token ${answer.token}, data ${answer.data.length} B`,
        );
      }
      received++;
      if (received % every === 0) samples.push(sample(received));
      wakeSender?.();
    }
  })();
  while (sent < MESSAGES) {
    if (sent - received >= WINDOW) {
      await new Promise((resolve) => (wakeSender = resolve));
      wakeSender = null;
      continue;
    }
    await session.send(echo(tokenOf(sent)));
    sent++;
  }
  await receiver;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await session.close();
  samples.push(sample(MESSAGES));
  return { phase: 'echoes', messages: MESSAGES, window: WINDOW, seconds, samples };
}

async function cycles() {
  const samples = [sample(0)];
  const every = Math.max(1, Math.floor(CYCLES / SAMPLES));
  const started = process.hrtime.bigint();
  for (let i = 1; i <= CYCLES; i++) {
    const session = await ibmvmc.open({ hmcId: `soak-${i % 4}`, path: devicePath, sysfsRoot });
    await session.send(echo(i));
    await session.receive();
    await session.close();
    if (i % every === 0) samples.push(sample(i));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { phase: 'cycles', cycles: CYCLES, seconds, samples };
}

// Made once per process, before the first sample: Node's stdout stream (it
// opens /dev/null on first use), and the preload shim's reset watcher (an
// epoll fd, fake device only), by one session opened and closed.
async function warmUp() {
  void process.stdout;
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  const session = await ibmvmc.open({ hmcId: 'soak-warm-up', path: devicePath, sysfsRoot });
  await session.close();
  return { phase: 'warm-up', fdsBefore, fdsAfter: fs.readdirSync('/proc/self/fd').length };
}

(async () => {
  console.log(JSON.stringify(await warmUp()));
  console.log(JSON.stringify(await echoes()));
  console.log(JSON.stringify(await cycles()));
  // What would keep the process alive (stdout's own pipe aside), once the
  // work already queued (an immediate or two) has run.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const handles = process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap');
  console.log(JSON.stringify({ phase: 'end', handles, at: Date.now() }));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
