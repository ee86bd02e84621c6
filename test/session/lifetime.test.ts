import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { startFake, type Fake } from '../helpers/session-fixtures';
import { TIME_SCALE } from '../helpers/time-scale';

const dist = path.resolve(__dirname, '..', '..', 'dist', 'cjs');
let fake: Fake;
beforeAll(async () => {
  fake = (await startFake({ buffers: { hypervisorOwned: 4 } })).fake;
});
afterAll(() => fake.stop());

const ECHO = `
  const { open, encodeHmcMessage, decodeHmcMessage } = require(${JSON.stringify(dist)});
  const echo = async (session, text) => {
    await session.send(encodeHmcMessage({ token: 9, target: 0x8000, opcode: 0x0103, data: Buffer.from(text) }));
    return decodeHmcMessage(await session.receive()).data.toString();
  };
`;

function runChild(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return {
    child,
    output: () => out,
    exit: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  };
}

/** Once the child has printed `printed`, gives its session (found by HMC id) an unsolicited message. */
async function injectOncePrinted(
  run: ReturnType<typeof runChild>,
  printed: string,
  hmcId: string,
  text: string,
): Promise<boolean> {
  await new Promise<void>((resolve) =>
    run.child.stdout.on('data', () => run.output().includes(printed) && resolve()),
  );
  await new Promise((r) => setTimeout(r, 300));
  const sessions = await fake.sessions();
  const slot = sessions.find((s) => s.hmcId.startsWith(hmcId))?.slot ?? 0;
  return fake.inject(slot, Buffer.from(text));
}

describe('process and thread lifetime', () => {
  it('works inside a worker thread, on the worker’s own event loop', async () => {
    const worker = new Worker(
      `${ECHO}
       const { parentPort, workerData } = require('node:worker_threads');
       (async () => {
         const session = await open({ hmcId: 'worker', path: workerData.path, sysfsRoot: workerData.sysfs });
         const answer = await echo(session, 'from a worker');
         await session.close();
         parentPort.postMessage(answer);
       })();`,
      { eval: true, workerData: { path: fake.socketPath, sysfs: fake.sysfsRoot } },
    );
    // Listen for the exit at once: a worker that ends quickly has its last
    // message and its exit delivered in the same turn.
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(message).toBe('from a worker');
    await expect(exited).resolves.toBe(0);
  });

  it('terminating a worker with an open session releases its fd', async () => {
    const worker = new Worker(
      `${ECHO}
       const { parentPort, workerData } = require('node:worker_threads');
       open({ hmcId: 'doomed', path: workerData.path, sysfsRoot: workerData.sysfs })
         .then(async (s) => { await echo(s, 'x'); s.receive(); parentPort.postMessage('open'); });`,
      { eval: true, workerData: { path: fake.socketPath, sysfs: fake.sysfsRoot } },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    // The slot comes back only if the worker's fd was closed.
    const { open } = await import('../../lib/index');
    const session = await open({
      hmcId: 'after',
      path: fake.socketPath,
      sysfsRoot: fake.sysfsRoot,
      timeoutMs: 3000,
    });
    await session.close();
  });

  it('an idle open session does not keep the process alive', async () => {
    const run = runChild(
      `${ECHO}
       open({ hmcId: 'idle', path: ${JSON.stringify(fake.socketPath)} }).then(async (s) => {
         console.log(await echo(s, 'idle'));
       });`,
      process.env,
    );
    const code = await run.exit;
    expect(run.output()).toBe('idle\n');
    expect(code).toBe(0);
  });

  it('a waiting receive keeps the process alive until a message comes', async () => {
    const run = runChild(
      `${ECHO}
       open({ hmcId: 'waiting', path: ${JSON.stringify(fake.socketPath)}, probeIntervalMs: 100000 }).then(async (s) => {
         await echo(s, 'x');
         console.log('waiting');
         const m = await s.receive();
         console.log('got ' + m.toString());
         await s.close();
       });`,
      process.env,
    );
    expect(await injectOncePrinted(run, 'waiting', 'waiting', 'late news')).toBe(true);
    expect(await run.exit).toBe(0);
    expect(run.output()).toBe('waiting\ngot late news\n');
  });

  it('an answer to one of two waiting receives still keeps the process alive for the other', async () => {
    // The watcher drops its ref with each message it passes on; the session
    // must take it again while a receive still waits.
    const run = runChild(
      `${ECHO}
       open({ hmcId: 'two-waiting', path: ${JSON.stringify(fake.socketPath)}, probeIntervalMs: 100000 }).then(async (s) => {
         const first = s.receive();
         const second = s.receive();
         await s.send(encodeHmcMessage({ token: 7, target: 0x8000, opcode: 0x0103, data: Buffer.from('first') }));
         console.log('got ' + decodeHmcMessage(await first).data.toString());
         console.log('got ' + (await second).toString());
         await s.close();
       });`,
      process.env,
    );
    expect(await injectOncePrinted(run, 'got first', 'two-waiting', 'second news')).toBe(true);
    expect(await run.exit).toBe(0);
    expect(run.output()).toBe('got first\ngot second news\n');
  });

  it(
    'sends, receives and closes with the thread pool’s only thread blocked: device I/O never uses it',
    async () => {
      const blocker = path.resolve(
        __dirname,
        '..',
        '..',
        'scripts',
        'bench',
        'block-thread-pool.js',
      );
      const run = runChild(
        `${ECHO}
       const { blockThreadPool } = require(${JSON.stringify(blocker)});
       open({ hmcId: 'no-pool', path: ${JSON.stringify(fake.socketPath)} }).then(async (s) => {
         const release = blockThreadPool();
         let answered = 0;
         for (let i = 0; i < 200; i++) if ((await echo(s, 'echo ' + i)) === 'echo ' + i) answered++;
         await s.close();
         const blocked = await release();
         console.log(JSON.stringify({ answered, blocked }));
       });`,
        { ...process.env, UV_THREADPOOL_SIZE: '1' },
      );
      // Device I/O waiting for the pool would never finish: give up after 20 s.
      const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000 * TIME_SCALE);
      const code = await run.exit.finally(() => clearTimeout(timer));
      expect(run.output()).toBe('{"answered":200,"blocked":true}\n');
      expect(code).toBe(0);
    },
    30_000 * TIME_SCALE,
  );
});
