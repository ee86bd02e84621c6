// The library end to end on the real driver: runs inside the POWER guest
// (ppc64le Node 18, the packed package, /dev/ibmvmc of the real ibmvmc module
// with our fake hypervisor behind QEMU's VMC adapter). Usage: e2e.js CASE.
//
// The host's suite (test/real-driver/library.test.ts) scripts the hypervisor
// for each case and acts when a case prints "READY tag" (it answers "go" on
// stdin). Each check prints "PASS case: what" or "FAIL case: what: why";
// the exit status is 1 if any check failed.
'use strict';
const readline = require('node:readline');
const ibmvmc = require('/app/node_modules/ibmvmc');

const name = process.argv[2];
let failures = 0;
const pass = (what) => console.log(`PASS ${name}: ${what}`);
const fail = (what, why) => {
  failures += 1;
  console.log(`FAIL ${name}: ${what}: ${why}`);
};
const check = (ok, what, why) => (ok ? pass(what) : fail(what, why));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const goLines = [];
const goWaiters = [];
readline.createInterface({ input: process.stdin }).on('line', () => {
  const w = goWaiters.shift();
  if (w) w();
  else goLines.push(true);
});
/** Prints "READY tag" and waits for the host's "go". */
function ready(tag) {
  console.log(`READY ${tag}`);
  if (goLines.shift()) return Promise.resolve();
  return new Promise((resolve) => goWaiters.push(resolve));
}

/** An error's class, code and syscall, and its cause's. */
function describe(error) {
  if (!(error instanceof Error)) return String(error);
  const code = error.code === undefined ? '' : ` ${error.code}`;
  const line = `${error.constructor.name}${code}: ${error.message}`;
  return error.cause === undefined ? line : `${line} (cause: ${describe(error.cause)})`;
}

/** The rejection of a promise (or a failure if it resolves within `ms`). */
async function rejection(promise, ms = 20_000) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), ms);
  });
  try {
    const value = await Promise.race([promise.then((v) => ({ value: v })), timeout]);
    return value.timedOut
      ? new Error(`still pending after ${ms} ms`)
      : new Error(`resolved: ${value.value}`);
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

/** A router echo request, as raw bytes, for the session-level cases. */
function echoRequest(token, data) {
  return ibmvmc.encodeHmcMessage({ token, target: 0x8000, opcode: 0x0103, data });
}

function isEchoOf(bytes, token, data) {
  const m = ibmvmc.decodeHmcMessage(bytes, { maxLength: 16384 });
  return m.token === token && m.opcode === 0x0103 && m.returnCode === 0 && m.data.equals(data);
}

const HMC_ID = 'real-driver-e2e';

const cases = {
  /** HmcSession: open, MTU found, an echo both ways, close; then HmcClient the same. */
  async 'open-echo-close'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    check(session.mtu === 4096, 'open(): the MTU probe finds 4096', `mtu ${session.mtu}`);
    const data = Buffer.from('hello, real driver');
    await session.send(echoRequest(7, data));
    const answer = await session.receive({ timeoutMs: 10_000 });
    check(
      isEchoOf(answer, 7, data),
      'send() and receive(): an echo comes back whole',
      answer.toString('hex'),
    );
    await session.close();
    check(session.state === 'closed', 'close()', session.state);

    const client = await ibmvmc.connect({ hmcId: HMC_ID, timeoutMs: 20_000 });
    const echoed = await client.echo(Buffer.from('client echo'));
    check(echoed.data.toString() === 'client echo', 'connect() and echo()', echoed.data.toString());
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.echo(Buffer.from(`concurrent ${i}`))),
    );
    check(
      answers.every((a, i) => a.data.toString() === `concurrent ${i}`),
      '40 concurrent echoes, each answered with its own data',
      answers.map((a) => a.data.toString()).join(','),
    );
    const refused = await rejection(client.request({ target: 0x8001, opcode: 0x0010 }));
    check(
      refused instanceof ibmvmc.HmcCommandError && refused.returnCode === 0x8001,
      'a request the router does not know: HmcCommandError 0x8001',
      describe(refused),
    );
    await client.close();
    check(client.state === 'closed', 'client.close() (router close answered)', client.state);
  },

  /** The hypervisor answers the open late: send() absorbs EBUSY until it does. */
  async 'send-before-open-answered'() {
    const started = Date.now();
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    const opened = Date.now() - started;
    const data = Buffer.from('early');
    await session.send(echoRequest(1, data), { timeoutMs: 20_000 });
    const sent = Date.now() - started;
    check(
      sent >= 700,
      'send() waited for the open answer (EBUSY retried)',
      `open ${opened} ms, send done at ${sent} ms`,
    );
    const answer = await session.receive({ timeoutMs: 10_000 });
    check(isEchoOf(answer, 1, data), 'and the message went through', answer.toString('hex'));
    await session.close();
  },

  /** Every buffer in flight: the next send waits (EBUSY) until an answer is read. */
  async 'full-pool'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    const sends = Array.from({ length: 17 }, (_, i) =>
      session.send(echoRequest(i + 1, Buffer.from([i]))),
    );
    const settled = await Promise.race([
      Promise.allSettled(sends.slice(0, 16)).then(() => 'first 16'),
      sleep(15_000).then(() => 'timeout'),
    ]);
    check(settled === 'first 16', 'the first 16 sends (the pool) resolve', settled);
    const late = await Promise.race([
      sends[16].then(() => 'resolved'),
      sleep(1000).then(() => 'pending'),
    ]);
    check(late === 'pending', 'the 17th waits: every buffer is in flight', late);
    await ready('pool-full');
    // The host lets the hypervisor answer: reading an answer returns a buffer.
    const first = await session.receive({ timeoutMs: 10_000 });
    check(isEchoOf(first, 1, Buffer.from([0])), 'the first answer is read', first.toString('hex'));
    await sends[16];
    pass('the 17th send then goes through');
    let tokens = 1;
    for (let i = 1; i < 17; i++) {
      const m = await session.receive({ timeoutMs: 10_000 });
      if (isEchoOf(m, i + 1, Buffer.from([i]))) tokens++;
    }
    check(tokens === 17, 'all 17 answers, in order', `${tokens} of 17`);
    await session.close();
  },

  async 'reset-idle'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000, probeIntervalMs: 200 });
    const reset = new Promise((resolve) => session.once('reset', resolve));
    await ready('idle');
    const error = await Promise.race([reset, sleep(10_000).then(() => null)]);
    check(
      error instanceof ibmvmc.SessionResetError,
      'an idle session sees the reset (its probe read: EBADFD)',
      describe(error),
    );
    check(session.state === 'reset', "state 'reset'", session.state);
    const refused = await rejection(session.send(echoRequest(1, Buffer.from('x'))));
    check(
      refused instanceof ibmvmc.SessionResetError || refused instanceof ibmvmc.SessionClosedError,
      'send() after it rejects',
      describe(refused),
    );
    await session.close();
  },

  async 'reset-idle-reconnect'() {
    const session = await ibmvmc.open({
      hmcId: HMC_ID,
      timeoutMs: 20_000,
      probeIntervalMs: 200,
      reconnect: { timeoutMs: 30_000 },
    });
    const reset = new Promise((resolve) => session.once('reset', resolve));
    const reconnected = new Promise((resolve) => session.once('reconnect', resolve));
    await ready('idle');
    const error = await Promise.race([reset, sleep(10_000).then(() => null)]);
    check(error instanceof ibmvmc.SessionResetError, 'the reset is seen', describe(error));
    const back = await Promise.race([
      reconnected.then(() => true),
      sleep(30_000).then(() => false),
    ]);
    check(back, "'reconnect': a new session with the same id", session.state);
    const data = Buffer.from('after reconnect');
    await session.send(echoRequest(9, data), { timeoutMs: 20_000 });
    const answer = await session.receive({ timeoutMs: 10_000 });
    check(isEchoOf(answer, 9, data), 'the new session carries messages', answer.toString('hex'));
    await session.close();
  },

  async 'reset-receiving'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000, probeIntervalMs: 200 });
    const pending = rejection(session.receive(), 15_000);
    await ready('receiving');
    const error = await pending;
    check(
      error instanceof ibmvmc.SessionResetError,
      'a waiting receive() rejects with SessionResetError',
      describe(error),
    );
    await session.close();
  },

  async 'reset-receiving-reconnect'() {
    const session = await ibmvmc.open({
      hmcId: HMC_ID,
      timeoutMs: 20_000,
      probeIntervalMs: 200,
      reconnect: { timeoutMs: 30_000 },
    });
    const reconnected = new Promise((resolve) => session.once('reconnect', resolve));
    const received = session.receive({ timeoutMs: 60_000 });
    await ready('receiving');
    await Promise.race([reconnected, sleep(30_000)]);
    check(session.state === 'open', 'reconnected while a receive() waited', session.state);
    await ready('reconnected');
    const message = await received.catch((e) => e);
    check(
      Buffer.isBuffer(message) && message.toString().includes('unsolicited after reconnect'),
      "the waiting receive() gets the new session's first message",
      Buffer.isBuffer(message) ? message.toString('hex') : describe(message),
    );
    await session.close();
  },

  /** A send waiting for a buffer when the reset comes rejects; nothing is sent later. */
  async 'reset-sending'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000, probeIntervalMs: 200 });
    const sends = Array.from({ length: 17 }, (_, i) =>
      session.send(echoRequest(i + 1, Buffer.from([i])), { timeoutMs: 60_000 }).then(
        () => 'sent',
        (e) => e,
      ),
    );
    await Promise.race([Promise.all(sends.slice(0, 16)), sleep(15_000)]);
    await ready('sending');
    const last = await Promise.race([sends[16], sleep(15_000).then(() => 'still pending')]);
    check(
      last instanceof ibmvmc.SessionResetError,
      'the send waiting on EBUSY rejects with SessionResetError',
      describe(last),
    );
    await session.close();
  },

  /** A close the hypervisor never answers keeps the slot: the next open gets EBUSY until a reset. */
  async 'close-unanswered'() {
    const first = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    await first.close();
    const error = await rejection(ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 2000 }));
    check(
      error instanceof ibmvmc.TimeoutError && error.cause instanceof ibmvmc.NoSlotFreeError,
      'the next open: TimeoutError, cause NoSlotFreeError (SETHMCID EBUSY)',
      describe(error),
    );
    await ready('slot-held');
    const second = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 30_000 });
    pass('after the reset frees the slot, open() succeeds');
    await second.close();
  },

  /** A session opened and closed (the close answered); the host then resets the channel. */
  async 'close-then-reset'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    await session.close();
    pass('a session opened and closed');
    await ready('closed');
    const again = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 30_000 });
    pass('a session opens after the reset');
    await again.close();
  },

  /** max_hmcs=2: two sessions at once, each with its own traffic. */
  async 'two-sessions'() {
    const a = await ibmvmc.open({ hmcId: 'first', timeoutMs: 20_000 });
    const b = await ibmvmc.open({ hmcId: 'second', timeoutMs: 20_000 });
    pass('two sessions open at once');
    await Promise.all([
      a.send(echoRequest(1, Buffer.from('to a'))),
      b.send(echoRequest(2, Buffer.from('to b'))),
    ]);
    const [ma, mb] = await Promise.all([
      a.receive({ timeoutMs: 10_000 }),
      b.receive({ timeoutMs: 10_000 }),
    ]);
    check(
      isEchoOf(ma, 1, Buffer.from('to a')) && isEchoOf(mb, 2, Buffer.from('to b')),
      'each gets its own answer',
      `${ma.toString('hex')} ${mb.toString('hex')}`,
    );
    const third = await rejection(ibmvmc.open({ hmcId: 'third', timeoutMs: 1500 }));
    check(
      third instanceof ibmvmc.TimeoutError && third.cause instanceof ibmvmc.NoSlotFreeError,
      'a third: no slot free',
      describe(third),
    );
    await Promise.all([a.close(), b.close()]);
  },

  /** max_mtu 8192 but the hypervisor offers 4096: the probe finds 4096. */
  async 'smaller-mtu'() {
    const session = await ibmvmc.open({ hmcId: HMC_ID, timeoutMs: 20_000 });
    check(
      session.mtu === 4096,
      'the MTU probe finds the negotiated 4096, not max_mtu 8192',
      `mtu ${session.mtu}`,
    );
    const data = Buffer.alloc(4096 - 32, 0x5a);
    await session.send(echoRequest(3, data));
    const answer = await session.receive({ timeoutMs: 10_000 });
    check(
      isEchoOf(answer, 3, data),
      'a message of exactly the MTU goes both ways',
      `${answer.length} bytes`,
    );
    const tooBig = await rejection(session.send(Buffer.alloc(4097)));
    check(
      tooBig instanceof ibmvmc.MessageTooLargeError,
      'one byte more is refused before any write',
      describe(tooBig),
    );
    await session.close();
  },

  /** REQUESTVMC: the host scripts one outcome per step. */
  async requestvmc() {
    const device = await ibmvmc.VmcDevice.open();
    const expected = [
      ['0x30000042', (v) => v === 0x30000042],
      ['EPERM', (e) => e instanceof ibmvmc.PermissionDeniedError && e.code === 'EPERM'],
      ['EIO', (e) => e instanceof ibmvmc.DeviceIoError && e.code === 'EIO'],
      ['ENODEV', (e) => e instanceof ibmvmc.DeviceNotFoundError && e.code === 'ENODEV'],
      ['EINVAL', (e) => e instanceof ibmvmc.InvalidArgumentError && e.code === 'EINVAL'],
    ];
    for (const [outcome, test] of expected) {
      await ready(`requestvmc ${outcome}`);
      const result = await device.requestVmc().catch((e) => e);
      check(
        test(result),
        `requestVmc() with the hypervisor answering ${outcome}`,
        result instanceof Error ? describe(result) : String(result),
      );
    }
    const q = device.query();
    check(
      q.vmcDrcIndex === 0x30000042 && q.state === 3,
      'query() after: the DRC index kept, state ready',
      JSON.stringify(q),
    );
    device.close();
  },

  async unsolicited() {
    const client = await ibmvmc.connect({ hmcId: HMC_ID, timeoutMs: 20_000 });
    const event = new Promise((resolve) =>
      client.once('unsolicited', (message, reason) => resolve({ message, reason })),
    );
    await ready('connected');
    const got = await Promise.race([event, sleep(10_000).then(() => null)]);
    check(
      got !== null && got.reason === 'not-a-response' && got.message.data.toString() === 'event',
      "an injected message: 'unsolicited', not-a-response",
      got === null ? 'nothing' : `${got.reason} ${got.message.data.toString()}`,
    );
    await client.close();
  },
};

async function main() {
  const run = cases[name];
  if (run === undefined) {
    console.log(`FAIL ${name}: no such case (${Object.keys(cases).join(', ')})`);
    process.exit(2);
  }
  try {
    await run();
  } catch (error) {
    fail('the case threw', describe(error));
  }
  process.exit(failures === 0 ? 0 : 1);
}

main();
