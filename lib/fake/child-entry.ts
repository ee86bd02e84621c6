/**
 * Entry point of the child process or worker thread that runs a fake device
 * for `startFakeDevice`. It starts a {@link FakeDevice} when told to, runs the
 * controls it is sent, forwards sessions' messages to the program's handler
 * when there is one, and stops when told to or when its parent goes away.
 */
import { rmSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { FakeDevice } from './fake-device';
import type { FakeMessageHandler } from './handler';
import {
  parentProcessPort,
  parentThreadPort,
  serializeError,
  toBuffer,
  type ControlMethod,
  type FromFake,
  type IpcPort,
  type ToFake,
} from './ipc';
import type { FakeDeviceOptions } from './options';

const port: IpcPort<FromFake, ToFake> =
  parentPort !== null ? parentThreadPort(parentPort) : parentProcessPort();

let device: FakeDevice | null = null;
/** The program's private directory for this fake, once known. */
let dir: string | null = null;
let stopping: Promise<void> | null = null;
let nextHandleId = 1;
const waitingAnswers = new Map<number, (answers: Buffer[] | undefined) => void>();

/** Hands a session's message to the program and waits for its answers. */
const forward: FakeMessageHandler = (message, session) =>
  new Promise((resolve) => {
    const id = nextHandleId++;
    waitingAnswers.set(id, resolve);
    // A copy of just the message: a view would drag its whole backing buffer along.
    port.send({ type: 'handle', id, message: new Uint8Array(message), session });
  });

async function control(method: ControlMethod, args: readonly unknown[]): Promise<unknown> {
  const d = device;
  if (d === null) throw new Error('the fake device is not running');
  switch (method) {
    case 'reset':
      d.reset((args[0] ?? {}) as { reinitializeAfterMs?: number | null });
      return undefined;
    case 'configure':
      await d.configure((args[0] ?? {}) as FakeDeviceOptions);
      return undefined;
    case 'inject':
      return d.inject(Number(args[0]), toBuffer(args[1] as Uint8Array));
    case 'setHandler':
      d.setHandler(args[0] === true ? forward : null, args[1] as number | undefined);
      return undefined;
    case 'sessions':
      return d.sessions();
    case 'state':
      return d.state();
    case 'log':
      // Copies of the message bytes, for the same reason as in `forward`.
      return d
        .log()
        .map((entry) =>
          entry.kind === 'message' ? { ...entry, data: new Uint8Array(entry.data) } : entry,
        );
    case 'clearLog':
      d.clearLog();
      return undefined;
  }
}

function stop(): Promise<void> {
  stopping ??= (async () => {
    for (const resolve of waitingAnswers.values()) resolve(undefined);
    waitingAnswers.clear();
    const d = device;
    device = null;
    await d?.close();
  })();
  return stopping;
}

function leave(): void {
  if (parentPort !== null) {
    parentPort.close();
  } else {
    process.disconnect?.();
    // Nothing should be left running; make sure of it.
    setTimeout(() => process.exit(0), 1000).unref();
  }
}

port.onMessage((message) => {
  switch (message.type) {
    case 'start':
      dir = message.dir;
      FakeDevice.start({
        ...message.options,
        socketPath: message.socketPath,
        sysfsRoot: message.sysfsRoot,
        handler: message.forward ? forward : undefined,
      }).then(
        (started) => {
          device = started;
          port.send({ type: 'ready' });
        },
        (error: unknown) => {
          port.send({ type: 'failed', error: serializeError(error) });
          leave();
        },
      );
      return;
    case 'call':
      control(message.method, message.args).then(
        (value) => port.send({ type: 'result', id: message.id, value }),
        (error: unknown) =>
          port.send({ type: 'error', id: message.id, error: serializeError(error) }),
      );
      return;
    case 'handled': {
      const resolve = waitingAnswers.get(message.id);
      waitingAnswers.delete(message.id);
      resolve?.(message.answers.map(toBuffer));
      return;
    }
    case 'stop':
      void stop().then(() => {
        port.send({ type: 'stopped' });
        leave();
      });
      return;
  }
});

if (parentPort === null) {
  // The channel closed. After a 'stop' the program removes the directory
  // itself; without one it died, and nobody else will.
  process.on('disconnect', () => {
    const orphaned = stopping === null;
    void stop().then(() => {
      if (orphaned && dir !== null) rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}
