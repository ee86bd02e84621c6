/**
 * Messages between a program and the fake device it runs in a child process
 * or a worker thread, and the two transports that carry them (the child
 * process IPC channel with "advanced" serialization, or a worker's port).
 * Processes attached to a fake send the same controls over its attach socket
 * (attach/socket-port.ts).
 * Buffers arrive as plain Uint8Arrays on the other side; {@link toBuffer}
 * turns them back.
 */
import type { ChildProcess } from 'node:child_process';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { FakeSessionInfo } from './handler';
import type { FakeDeviceOptions } from './options';

/** The run-time controls a handle forwards, by name. */
export type ControlMethod =
  'reset' | 'configure' | 'inject' | 'setHandler' | 'sessions' | 'state' | 'log' | 'clearLog';

/** An error as it crosses the boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

/** From the program to the fake. */
export type ToFake =
  | {
      readonly type: 'start';
      readonly options: FakeDeviceOptions;
      readonly socketPath: string;
      readonly sysfsRoot: string;
      /** Where attached processes reach its controls. */
      readonly attachPath: string;
      /** The private directory holding both; removed by the child if its parent dies. */
      readonly dir: string;
      /** Forward every slot's messages to the program's handler. */
      readonly forward: boolean;
    }
  | {
      readonly type: 'call';
      readonly id: number;
      readonly method: ControlMethod;
      readonly args: readonly unknown[];
    }
  | { readonly type: 'handled'; readonly id: number; readonly answers: readonly Uint8Array[] }
  | { readonly type: 'stop' };

/** From the fake to the program. */
export type FromFake =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly id: number; readonly value?: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  | {
      readonly type: 'handle';
      readonly id: number;
      readonly message: Uint8Array;
      readonly session: FakeSessionInfo;
    }
  | { readonly type: 'stopped' }
  | {
      /** The first message on an attach socket: what the attached process is talking to. */
      readonly type: 'attached';
      readonly version: number;
      readonly pid: number;
      readonly socketPath: string;
      readonly sysfsRoot: string | null;
    };

/** One end of the channel. */
export interface IpcPort<Out, In> {
  send(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

/** The program's end, over a child process. */
export function childProcessPort(child: ChildProcess): IpcPort<ToFake, FromFake> {
  return {
    send: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => child.on('message', (m) => listener(m as FromFake)),
  };
}

/** The program's end, over a worker. */
export function workerPort(worker: Worker): IpcPort<ToFake, FromFake> {
  return {
    send: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', (m: FromFake) => listener(m)),
  };
}

/** The fake's end, in a child process. */
export function parentProcessPort(): IpcPort<FromFake, ToFake> {
  return {
    send: (message) => {
      if (process.send !== undefined && process.connected) process.send(message);
    },
    onMessage: (listener) => process.on('message', (m) => listener(m as ToFake)),
  };
}

/** The fake's end, in a worker. */
export function parentThreadPort(port: MessagePort): IpcPort<FromFake, ToFake> {
  return {
    send: (message) => port.postMessage(message),
    onMessage: (listener) => port.on('message', (m: ToFake) => listener(m)),
  };
}

/** A Buffer over the same memory (what arrives is a plain Uint8Array). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** An error made fit to cross the boundary. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}
