/**
 * Entry point of the child process or worker thread that runs a fake device
 * for `startFakeDevice`. It starts a {@link FakeDevice} and its attach socket
 * when told to, runs the controls it is sent (by its parent and by attached
 * processes), forwards sessions' messages to the program's handler when
 * there is one, and stops when told to or when its parent goes away.
 */
import { rmSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { AttachServer } from './attach/server';
import { FakeControls, type ControlPeer } from './control-peer';
import { FakeDevice } from './fake-device';
import {
  parentProcessPort,
  parentThreadPort,
  serializeError,
  type FromFake,
  type IpcPort,
  type ToFake,
} from './ipc';

const port: IpcPort<FromFake, ToFake> =
  parentPort !== null ? parentThreadPort(parentPort) : parentProcessPort();

let device: FakeDevice | null = null;
let attach: AttachServer | null = null;
/** The program that started the fake, as a peer of its controls. */
let owner: ControlPeer | null = null;
/** The program's private directory for this fake, once known. */
let dir: string | null = null;
let stopping: Promise<void> | null = null;

async function start(message: Extract<ToFake, { type: 'start' }>): Promise<void> {
  dir = message.dir;
  const started = await FakeDevice.start({
    ...message.options,
    socketPath: message.socketPath,
    sysfsRoot: message.sysfsRoot,
  });
  device = started;
  const controls = new FakeControls(started);
  owner = controls.peer(port);
  if (message.forward) controls.setHandler(owner, true);
  attach = await AttachServer.listen(controls, message.attachPath, {
    socketPath: message.socketPath,
    sysfsRoot: message.sysfsRoot,
  });
}

function stop(): Promise<void> {
  stopping ??= (async () => {
    owner?.close();
    await attach?.close();
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
      start(message).then(
        () => port.send({ type: 'ready' }),
        (error: unknown) => {
          port.send({ type: 'failed', error: serializeError(error) });
          void stop().then(leave);
        },
      );
      return;
    case 'call':
      if (owner === null)
        port.send({
          type: 'error',
          id: message.id,
          error: serializeError(new Error('the fake device is not running')),
        });
      else owner.receive(message);
      return;
    case 'handled':
      owner?.receive(message);
      return;
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
