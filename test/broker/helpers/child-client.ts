/**
 * A raw wire client in a child process (another uid, or one to kill -9):
 * it says HELLO, sends what the test writes on its stdin (JSON lines of
 * frames, messages in hex), and prints every frame it receives on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const WIRE = path.resolve(__dirname, '..', '..', '..', 'dist', 'cjs', 'broker', 'wire', 'index.js');

const SCRIPT = `
const net = require('node:net');
const readline = require('node:readline');
const wire = require(${JSON.stringify(WIRE)});
const socket = net.connect(process.argv[1]);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const decoder = new wire.BrokerFrameDecoder('broker', (f) => {
  const out = { ...f };
  for (const k of ['message', 'exchangeOptionsAnswer']) if (out[k]) out[k] = out[k].toString('hex');
  print(out);
});
socket.on('data', (c) => { try { decoder.push(c); } catch (e) { print({ type: 'decode-error', text: e.message }); } });
socket.on('error', (e) => print({ type: 'socket-error', code: e.code }));
socket.on('close', () => { print({ type: 'closed' }); process.exit(0); });
socket.on('connect', () => {
  print({ type: 'connected' });
  socket.write(wire.encodeBrokerFrame({ type: 'hello', version: 1, clientName: 'child', clientVersion: '1' }));
});
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const f = JSON.parse(line);
  if (f.message) f.message = Buffer.from(f.message, 'hex');
  socket.write(wire.encodeBrokerFrame(f));
});
`;

/** A frame as the child prints it (messages in hex), or its own notes. */
export type ChildLine = Record<string, unknown> & { type: string };

/** A running child client. */
export interface ChildClient {
  readonly child: ChildProcess;
  readonly lines: ChildLine[];
  /** Writes a frame for the child to send (messages as Buffers). */
  send(frame: Record<string, unknown>): void;
  /** Resolves once a line of `type` came (rejects after `ms`). */
  waitFor(type: string, ms: number): Promise<ChildLine>;
  /** Resolves once the child exited. */
  exited: Promise<void>;
}

/**
 * Starts a child client on `socketPath`.
 *
 * @param ids - uid and gid to run as (the test runs as root).
 */
export function startChildClient(
  socketPath: string,
  ids?: { uid: number; gid: number },
): ChildClient {
  const env = { ...process.env };
  delete env.LD_PRELOAD; // not the fake's business, and another user may not read the shim
  const child = spawn(process.execPath, ['-e', SCRIPT, socketPath], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(ids ?? {}),
  });
  const lines: ChildLine[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let at;
    while ((at = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, at)) as ChildLine);
      buffered = buffered.slice(at + 1);
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    exited,
    send(frame) {
      const out: Record<string, unknown> = { ...frame };
      if (Buffer.isBuffer(out.message)) out.message = out.message.toString('hex');
      child.stdin?.write(`${JSON.stringify(out)}\n`);
    },
    waitFor(type, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => l.type === type);
          if (line === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(line);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the child printed no ${type} in ${ms} ms: ${JSON.stringify(lines)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}
