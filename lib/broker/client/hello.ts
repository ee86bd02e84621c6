/**
 * Opening a connection to the broker: connect to its socket, say HELLO, and
 * wait for WELCOME (which the broker says once it holds a session).
 */
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import * as path from 'node:path';
import {
  BrokerUnavailableError,
  PermissionDeniedError,
  TimeoutError,
} from '../../errors/error-classes';
import type { IbmvmcError } from '../../errors/ibmvmc-error';
import { packageRoot } from '../../native/package-root';
import { HMC_HEADER_LENGTH } from '../../protocol/constants';
import { abortError } from '../../session/deadline';
import { BROKER_PROTOCOL_VERSION } from '../wire/constants';
import { encodeBrokerFrame } from '../wire/encode';
import type { ServerFrame } from '../wire/frames';
import { BrokerFrameDecoder } from '../wire/stream-decoder';
import type { BrokerConnection } from './broker-transport';
import { errorFromWire } from './wire-errors';

/** What opening a connection needs, settled. */
export interface HelloSettings {
  readonly path: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** The program's name for the broker's logs. */
  readonly clientName: string;
}

let packageVersion: string | undefined;

/** This package's version, sent in HELLO. */
function clientVersion(): string {
  packageVersion ??= (
    JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  return packageVersion;
}

/** A connect() failure on the broker's socket, said for the user. */
function connectError(error: NodeJS.ErrnoException, socketPath: string): IbmvmcError {
  const d = { code: error.code, errno: error.errno, syscall: 'connect', cause: error };
  switch (error.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return new BrokerUnavailableError(
        `no broker is listening on ${socketPath} (${error.code}): start one with "ibmvmc serve" (or "systemctl start ibmvmc-broker.socket"), or point --broker / IBMVMC_BROKER at its socket`,
        d,
      );
    case 'EACCES':
    case 'EPERM':
      return new PermissionDeniedError(
        `may not connect to the broker's socket ${socketPath} (${error.code}): it is open to its group only (hmc by default); add your user to that group, or ask for --allow-user`,
        d,
      );
    default:
      return new BrokerUnavailableError(
        `cannot connect to the broker's socket ${socketPath}: ${error.message}`,
        d,
      );
  }
}

/**
 * Connects to the broker and completes the handshake.
 *
 * @throws BrokerUnavailableError when no broker listens there (or it stops
 *   before welcoming); PermissionDeniedError when the socket or the broker
 *   refuses this user; TimeoutError, AbortError.
 */
export function openBrokerConnection(settings: HelloSettings): Promise<BrokerConnection> {
  const { path: socketPath, timeoutMs, signal } = settings;
  if (signal?.aborted) return Promise.reject(abortError(signal, 'connecting to the broker'));
  return new Promise<BrokerConnection>((resolve, reject) => {
    const socket: Socket = createConnection({ path: socketPath });
    // Frames decoded after WELCOME, before the transport takes over, wait here.
    let early: ServerFrame[] | undefined;
    let onFrame: (frame: ServerFrame) => void = handshakeFrame;
    let onProtocolError: (error: IbmvmcError) => void = fail;
    const decoder = new BrokerFrameDecoder('broker', (frame) => onFrame(frame));
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(
          () =>
            fail(
              new TimeoutError(
                `the broker at ${socketPath} did not welcome this client within ${timeoutMs} ms (it does once it holds a session: is the device busy?)`,
              ),
            ),
          timeoutMs,
        )
      : undefined;
    const onAbort = () => fail(abortError(signal as AbortSignal, 'connecting to the broker'));
    signal?.addEventListener('abort', onAbort, { once: true });

    function cleanup(): void {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onSocketError);
      socket.off('close', onSocketClose);
    }
    function fail(error: IbmvmcError): void {
      cleanup();
      onFrame = () => {};
      socket.destroy();
      reject(error);
    }
    function onSocketError(error: Error): void {
      fail(connectError(error as NodeJS.ErrnoException, socketPath));
    }
    function onSocketClose(): void {
      fail(
        new BrokerUnavailableError(
          `the broker at ${socketPath} closed the connection before welcoming this client`,
        ),
      );
    }
    function handshakeFrame(frame: ServerFrame): void {
      switch (frame.type) {
        case 'welcome': {
          cleanup();
          early = [];
          onFrame = (later) => early?.push(later);
          const commandPathOptions = Buffer.from(
            frame.exchangeOptionsAnswer.subarray(HMC_HEADER_LENGTH),
          );
          resolve({
            socket,
            mtu: frame.mtu,
            commandPathOptions,
            path: socketPath,
            attach(frameHandler, errorHandler) {
              onFrame = frameHandler;
              onProtocolError = errorHandler;
              const waiting = early ?? [];
              early = undefined;
              for (const f of waiting) frameHandler(f);
            },
          });
          return;
        }
        case 'error':
          fail(errorFromWire(frame, 'the connection'));
          return;
        default:
          // GOODBYE: the broker is stopping.
          fail(
            new BrokerUnavailableError(
              `the broker at ${socketPath} is stopping and did not take this client: connect again once it is back`,
            ),
          );
      }
    }

    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        onProtocolError(error as IbmvmcError);
      }
    });
    socket.once('connect', () => {
      socket.write(
        encodeBrokerFrame({
          type: 'hello',
          version: BROKER_PROTOCOL_VERSION,
          clientName: settings.clientName,
          clientVersion: clientVersion(),
        }),
      );
    });
  });
}
