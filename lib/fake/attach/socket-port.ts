/**
 * The fake's control messages over a stream socket: each one V8-serialized
 * (what the child process IPC channel's "advanced" serialization does) behind
 * a 4-byte big-endian length. A frame over the limit or bytes that do not
 * deserialize end the connection: the other end is broken, not to be trusted.
 */
import type * as net from 'node:net';
import { deserialize, serialize } from 'node:v8';
import type { IpcPort } from '../ipc';

const HEADER_LENGTH = 4;

/** One end of an attach connection. */
export interface SocketPort<Out, In> extends IpcPort<Out, In> {
  /** Called once when the connection ends, for whatever reason (with the error, if one ended it). */
  onClose(listener: (error?: Error) => void): void;
}

/**
 * Frames messages over `socket`.
 *
 * @param socket - A connected stream socket.
 * @param maxFrameBytes - The longest message accepted from the other end.
 */
export function socketPort<Out, In>(
  socket: net.Socket,
  maxFrameBytes: number,
): SocketPort<Out, In> {
  const listeners: Array<(message: In) => void> = [];
  const closeListeners: Array<(error?: Error) => void> = [];
  let pending: Buffer = Buffer.alloc(0);
  let failure: Error | undefined;
  let closed = false;

  const fail = (error: Error): void => {
    failure ??= error;
    socket.destroy();
  };

  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= HEADER_LENGTH && !socket.destroyed) {
      const length = pending.readUInt32BE(0);
      if (length > maxFrameBytes) {
        fail(new Error(`a message of ${length} bytes (at most ${maxFrameBytes})`));
        return;
      }
      if (pending.length < HEADER_LENGTH + length) return;
      const body = pending.subarray(HEADER_LENGTH, HEADER_LENGTH + length);
      pending = pending.subarray(HEADER_LENGTH + length);
      let message: In;
      try {
        message = deserialize(body) as In;
      } catch (error) {
        fail(new Error(`a message that does not deserialize: ${String(error)}`));
        return;
      }
      for (const listener of listeners) listener(message);
    }
  });
  socket.on('error', (error) => (failure ??= error));
  socket.on('close', () => {
    closed = true;
    for (const listener of closeListeners) listener(failure);
  });

  return {
    send(message) {
      if (closed || socket.destroyed || !socket.writable) return;
      const body = serialize(message);
      const header = Buffer.alloc(HEADER_LENGTH);
      header.writeUInt32BE(body.length, 0);
      socket.write(Buffer.concat([header, body]));
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    onClose(listener) {
      closeListeners.push(listener);
    },
  };
}
