/**
 * The client side of the broker (`connect({ broker })`, BrokerTransport)
 * against a scripted stand-in broker: a Unix socket server speaking the wire
 * protocol, which answers as each test says. What the real broker does is
 * tested in the broker's own tests and through it in the client suite
 * (test/client/client-fake.test.ts); here, every frame the client can
 * receive, and what the client program sees of it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  BrokerFrameDecoder,
  encodeBrokerFrame,
  type ClientFrame,
  type ServerFrame,
} from '../../lib/broker/index';
import {
  BrokerRefusedError,
  BrokerUnavailableError,
  PermissionDeniedError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
} from '../../lib/errors/index';
import { BROKER_ENV, connect, HmcCommandError } from '../../lib/client/index';
import {
  decodeHmcMessage,
  encodeHmcMessage,
  encodeResponse,
  HMC_FLAG,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
} from '../../lib/protocol/index';
import { BrokerProtocolError } from '../../lib/broker/index';
import { hmcEvent } from '../helpers/hmc-event';
import { rejection } from '../helpers/rejection';
import { TIME_SCALE } from '../helpers/time-scale';

const dir = mkdtempSync(path.join(tmpdir(), 'ibmvmc-broker-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

/** The options answer the stand-in welcomes with. */
const OPTIONS_ANSWER = encodeHmcMessage({
  token: 0,
  target: HMC_TARGET.ROUTER,
  opcode: HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
  flags: HMC_FLAG.RESPONSE,
  data: Buffer.from([0, 1, 0, 0, 0, 0]),
});

/** One connection to the stand-in: the frames it got, and a way to answer. */
interface Peer {
  readonly frames: ClientFrame[];
  send(frame: ServerFrame): void;
  raw(bytes: Buffer): void;
  readonly socket: Socket;
  /** Resolves with the next frame of this type (or one already received and not yet awaited). */
  next<T extends ClientFrame['type']>(type: T): Promise<Extract<ClientFrame, { type: T }>>;
}

/**
 * A stand-in broker on a fresh socket. `onHello` decides what a HELLO gets
 * (WELCOME with MTU 4096 by default); `onRequest` answers requests (an echo
 * by default).
 */
async function standIn(
  script: {
    onHello?: (peer: Peer) => void;
    onRequest?: (peer: Peer, token: number, message: Buffer) => void;
  } = {},
) {
  const socketPath = path.join(dir, `broker-${++sockets}.sock`);
  const peers: Peer[] = [];
  const server: Server = createServer((socket) => {
    const frames: ClientFrame[] = [];
    const waiters: Array<{ type: string; resolve: (frame: ClientFrame) => void }> = [];
    const seen = new Set<ClientFrame>();
    const peer: Peer = {
      frames,
      socket,
      send: (frame) => {
        if (!socket.destroyed) socket.write(encodeBrokerFrame(frame));
      },
      raw: (bytes) => socket.write(bytes),
      next: (type) => {
        const already = frames.find((f) => f.type === type && !seen.has(f));
        if (already) {
          seen.add(already);
          return Promise.resolve(already as never);
        }
        return new Promise((resolve) => waiters.push({ type, resolve: resolve as never }));
      },
    };
    peers.push(peer);
    const decoder = new BrokerFrameDecoder('client', (frame) => {
      frames.push(frame);
      const w = waiters.findIndex((x) => x.type === frame.type);
      if (w >= 0) {
        seen.add(frame);
        waiters.splice(w, 1)[0].resolve(frame);
      }
      if (frame.type === 'hello')
        (
          script.onHello ??
          ((p) =>
            p.send({
              type: 'welcome',
              version: 1,
              mtu: 4096,
              exchangeOptionsAnswer: OPTIONS_ANSWER,
            }))
        )(peer);
      if (frame.type === 'request')
        (
          script.onRequest ??
          ((p, token, message) =>
            p.send({
              type: 'answer',
              token,
              message: encodeResponse(decodeHmcMessage(message), {
                data: decodeHmcMessage(message).data,
              }),
            }))
        )(peer, frame.token, frame.message);
      if (frame.type === 'goodbye') {
        peer.send({ type: 'goodbye', reason: '' });
        socket.end();
      }
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  stops.push(
    () =>
      new Promise<void>((resolve) => {
        for (const p of peers) p.socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { socketPath, peers, server };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('connect({ broker })', () => {
  it('says HELLO with its name and version, and takes the MTU and options from WELCOME: nothing else is sent', async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath, clientName: 'my tool' });
    expect(client.mtu).toBe(4096);
    expect(client.commandPathOptions).toEqual(Buffer.from([0, 1, 0, 0, 0, 0]));
    const [peer] = b.peers;
    expect(peer.frames[0]).toMatchObject({ type: 'hello', version: 1, clientName: 'my tool' });
    expect((peer.frames[0] as { clientVersion: string }).clientVersion).toMatch(/^\d+\.\d+\.\d+/);
    await client.close();
    // Every unsolicited message by default, as on a session of one's own.
    expect(peer.frames[1]).toEqual({ type: 'subscribe', targets: [] });
    // Its close is a goodbye: no router close goes to the broker.
    expect(peer.frames.map((f) => f.type)).toEqual(['hello', 'subscribe', 'goodbye']);
    expect(client.session.state).toBe('closed');
  });

  it('subscribes to the targets asked for, or to none', async () => {
    const b = await standIn();
    const some = await connect({ broker: b.socketPath, events: [0x8001, 0x8004] });
    const none = await connect({ broker: b.socketPath, events: 'none' });
    await Promise.all([some.close(), none.close()]);
    expect(b.peers[0].frames[1]).toEqual({ type: 'subscribe', targets: [0x8001, 0x8004] });
    expect(b.peers[1].frames.map((f) => f.type)).toEqual(['hello', 'goodbye']);
  });

  it('says what is wrong when no broker listens, or the socket refuses this user', async () => {
    const missing = await rejection(connect({ broker: path.join(dir, 'nobody-here.sock') }));
    expect(missing).toBeInstanceOf(BrokerUnavailableError);
    expect(missing).toMatchObject({ code: 'ENOENT', syscall: 'connect', retryable: true });
    expect(missing.message).toMatch(
      /no broker is listening on .*nobody-here\.sock \(ENOENT\): start one with "ibmvmc serve"/,
    );

    // A socket file nobody listens on (a broker that died): ECONNREFUSED.
    const stale = path.join(dir, 'stale.sock');
    const bind = spawnSync('python3', [
      '-c',
      'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      stale,
    ]);
    expect(bind.status).toBe(0);
    const refused = await rejection(connect({ broker: stale }));
    expect(refused).toBeInstanceOf(BrokerUnavailableError);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    expect(refused.message).toMatch(/no broker is listening on .*stale\.sock \(ECONNREFUSED\)/);
  });

  it("turns an ERROR at HELLO into the typed error, with the broker's words", async () => {
    const b = await standIn({
      onHello: (p) => {
        p.send({
          type: 'error',
          code: 'EACCES',
          text: 'uid 1000 is not allowed: not in --allow-user',
        });
        p.socket.end();
      },
    });
    const error = await rejection(connect({ broker: b.socketPath }));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(error.message).toBe(
      'the broker refused the connection: uid 1000 is not allowed: not in --allow-user',
    );
  });

  it('times out when the broker does not welcome it (no session yet), and goes when it does', async () => {
    let welcome: (() => void) | undefined;
    const b = await standIn({
      onHello: (p) =>
        (welcome = () =>
          p.send({
            type: 'welcome',
            version: 1,
            mtu: 4096,
            exchangeOptionsAnswer: OPTIONS_ANSWER,
          })),
    });
    const error = await rejection(connect({ broker: b.socketPath, timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toMatch(/did not welcome this client within 100 ms/);
    const later = connect({ broker: b.socketPath, timeoutMs: 5000 * TIME_SCALE });
    while (b.peers.length < 2 || b.peers[1].frames.length === 0) await sleep(5);
    welcome?.();
    await (await later).close();
  });

  it('takes IBMVMC_BROKER when no device is named', async () => {
    const b = await standIn();
    process.env[BROKER_ENV] = b.socketPath;
    try {
      const client = await connect({ hmcId: 'ignored' });
      expect(client.session.constructor.name).toBe('BrokerTransport');
      await client.close();
    } finally {
      delete process.env[BROKER_ENV];
    }
  });

  it('refuses bad broker options before connecting', async () => {
    await expect(connect({ broker: '' })).rejects.toThrow(
      /broker must be the broker's socket path/,
    );
    await expect(connect({ broker: '/x', events: [1, 1] })).rejects.toThrow(/events must be/);
    await expect(connect({ broker: '/x', timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });
});

describe('requests through the broker', () => {
  it("sends each request under the client's own token and matches the answer by it", async () => {
    // Answers in reverse order, each message carrying the broker's own HMC token.
    const held: Array<() => void> = [];
    const b = await standIn({
      onRequest: (p, token, message) => {
        held.push(() =>
          p.send({
            type: 'answer',
            token,
            message: encodeResponse(
              { ...decodeHmcMessage(message), token: 0x7777 },
              { data: decodeHmcMessage(message).data },
            ),
          }),
        );
        if (held.length === 3) for (const answer of held.reverse()) answer();
      },
    });
    const client = await connect({ broker: b.socketPath });
    const answers = await Promise.all(['a', 'b', 'c'].map((d) => client.echo(Buffer.from(d))));
    expect(answers.map((a) => a.data.toString())).toEqual(['a', 'b', 'c']);
    const tokens = b.peers[0].frames.filter((f) => f.type === 'request').map((f) => f.token);
    expect(answers.map((a) => a.token)).toEqual(tokens);
    await client.close();
  });

  it('makes HmcCommandError from an answer with a non-zero return code', async () => {
    const b = await standIn({
      onRequest: (p, token, message) =>
        p.send({
          type: 'answer',
          token,
          message: encodeResponse(decodeHmcMessage(message), {
            returnCode: HMC_RETURN_CODE.INVALID_OPCODE,
          }),
        }),
    });
    const client = await connect({ broker: b.socketPath });
    const error = await rejection(client.request({ target: 0x8001, opcode: 0x10 }));
    expect(error).toBeInstanceOf(HmcCommandError);
    await client.close();
  });

  it('rejects a REFUSED request with the typed error for its code; the client goes on', async () => {
    const b = await standIn({
      onRequest: (p, token, message) => {
        const m = decodeHmcMessage(message);
        if (m.data.toString() === 'ro')
          p.send({
            type: 'refused',
            token,
            code: 'ERR_IBMVMC_BROKER_READ_ONLY',
            text: 'listen only',
          });
        else if (m.data.toString() === 'odd')
          p.send({ type: 'refused', token, code: 'ERR_IBMVMC_BROKER_BAD_MESSAGE', text: 'bad' });
        else p.send({ type: 'answer', token, message: encodeResponse(m, { data: m.data }) });
      },
    });
    const client = await connect({ broker: b.socketPath });
    const readOnly = await rejection(client.echo(Buffer.from('ro')));
    expect(readOnly).toBeInstanceOf(PermissionDeniedError);
    expect(readOnly).toMatchObject({
      code: 'ERR_IBMVMC_BROKER_READ_ONLY',
      message: 'the broker refused the request: listen only',
    });
    const odd = await rejection(client.echo(Buffer.from('odd')));
    expect(odd).toBeInstanceOf(BrokerRefusedError);
    expect(odd).toMatchObject({ code: 'ERR_IBMVMC_BROKER_BAD_MESSAGE' });
    await client.echo(Buffer.from('fine'));
    expect(client.inFlight).toBe(0);
    await client.close();
  });

  it('cancels a request it gives up (timeout or abort), so the broker frees its turn', async () => {
    const b = await standIn({ onRequest: () => {} }); // never answers
    const client = await connect({ broker: b.socketPath });
    const timedOut = await rejection(client.echo(Buffer.from('x'), { timeoutMs: 30 }));
    expect(timedOut).toBeInstanceOf(TimeoutError);
    const abort = new AbortController();
    const aborted = rejection(client.echo(Buffer.from('y'), { signal: abort.signal }));
    await b.peers[0].next('request');
    await b.peers[0].next('request');
    abort.abort();
    await aborted;
    const first = await b.peers[0].next('cancel');
    const second = await b.peers[0].next('cancel');
    const requests = b.peers[0].frames.filter((f) => f.type === 'request').map((f) => f.token);
    expect([first.token, second.token]).toEqual(requests);
    await client.close();
  });

  it('delivers EVENT frames as unsolicited messages', async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath });
    const seen = new Promise<string>((resolve) =>
      client.once('unsolicited', (m, reason) => resolve(`${reason} ${m.data.toString()}`)),
    );
    b.peers[0].send({ type: 'event', message: hmcEvent('hello') });
    expect(await seen).toBe('not-a-response hello');
    await client.close();
  });

  it('refuses a message over the MTU before anything is sent', async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath });
    await expect(client.echo(Buffer.alloc(4096))).rejects.toThrow(/MTU/);
    expect(b.peers[0].frames.some((f) => f.type === 'request')).toBe(false);
    await client.close();
  });
});

describe("the broker's resets and endings", () => {
  it('RESET rejects what is in flight, holds new requests, and RECONNECT lets them go', async () => {
    const b = await standIn({ onRequest: () => {} }); // answers nothing until told
    const client = await connect({ broker: b.socketPath });
    const events: string[] = [];
    client.on('reset', (e) => events.push(`reset ${e.constructor.name}`));
    client.on('reconnect', () => events.push('reconnect'));
    const inFlight = rejection(client.echo(Buffer.from('lost')));
    const peer = b.peers[0];
    await peer.next('request');
    peer.send({ type: 'reset' });
    const lost = await inFlight;
    expect(lost).toBeInstanceOf(SessionResetError);
    expect(lost.message).toMatch(
      /requests in flight get no answer; the broker reconnects by itself/,
    );
    expect(client.state).toBe('open');
    // Held by the client until the new session: nothing goes to the broker meanwhile.
    const held = client.echo(Buffer.from('held'));
    await sleep(30);
    expect(peer.frames.filter((f) => f.type === 'request')).toHaveLength(1);
    const newOptions = encodeHmcMessage({
      token: 0,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS,
      flags: HMC_FLAG.RESPONSE,
      data: Buffer.from([0, 2, 0, 0, 0, 0]),
    });
    peer.send({ type: 'reconnect', mtu: 2048, exchangeOptionsAnswer: newOptions });
    const request = await peer.next('request');
    const m = decodeHmcMessage(request.message);
    peer.send({
      type: 'answer',
      token: request.token,
      message: encodeResponse(m, { data: m.data }),
    });
    expect((await held).data.toString()).toBe('held');
    expect(events).toEqual(['reset SessionResetError', 'reconnect']);
    expect(client.mtu).toBe(2048);
    expect(client.commandPathOptions).toEqual(Buffer.from([0, 2, 0, 0, 0, 0]));
    await client.close();
  });

  it('a request that waits out a reset times out saying why', async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath });
    b.peers[0].send({ type: 'reset' });
    await new Promise<void>((resolve) => client.once('reset', () => resolve()));
    const error = await rejection(client.echo(Buffer.from('x'), { timeoutMs: 30 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toMatch(/waiting for the broker's new session/);
    await client.close();
  });

  it('the broker going away rejects pending requests and closes the client', async () => {
    const b = await standIn({ onRequest: () => {} });
    const client = await connect({ broker: b.socketPath });
    const events: string[] = [];
    client.on('reset', (e) => events.push(`reset ${e.constructor.name}`));
    client.on('close', () => events.push('close'));
    const pending = rejection(client.echo(Buffer.from('x')));
    await b.peers[0].next('request');
    b.peers[0].socket.destroy(); // kill -9 of the broker, as the client sees it
    const error = await pending;
    expect(error).toBeInstanceOf(SessionResetError);
    expect(error.message).toMatch(/closed the connection: connect again once it is back/);
    while (events.length < 2) await sleep(5);
    expect(events).toEqual(['reset SessionResetError', 'close']);
    expect(client.state).toBe('closed');
  });

  it("the broker's GOODBYE (it is stopping) ends the client with a reset", async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath });
    const reset = new Promise<Error>((resolve) => client.once('reset', resolve));
    b.peers[0].send({ type: 'goodbye', reason: 'the broker is stopping' });
    const error = await reset;
    expect(error).toBeInstanceOf(SessionResetError);
    expect(error.message).toMatch(/said goodbye \(the broker is stopping\)/);
    await client.close();
  });

  it('a broker breaking the protocol ends the client with a BrokerProtocolError', async () => {
    const b = await standIn();
    const client = await connect({ broker: b.socketPath });
    const reset = new Promise<Error>((resolve) => client.once('reset', resolve));
    b.peers[0].raw(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const error = await reset;
    expect(error).toBeInstanceOf(BrokerProtocolError);
    await expect(client.echo(Buffer.from('x'))).rejects.toBeInstanceOf(BrokerProtocolError);
    await client.close();
  });

  it('close() waits for the goodbye at most closeTimeoutMs, and rejects what was pending', async () => {
    const b = await standIn({ onRequest: () => {} });
    const client = await connect({ broker: b.socketPath, closeTimeoutMs: 50 });
    const pending = rejection(client.echo(Buffer.from('x')));
    await b.peers[0].next('request');
    // A broker that never answers the goodbye nor closes: the client closes anyway.
    b.peers[0].socket.removeAllListeners('data');
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeLessThan(2000 * TIME_SCALE);
    expect(await pending).toBeInstanceOf(SessionClosedError);
  });
});

describe('the socket is checked by the system first', () => {
  it('a socket this user may not open gives PermissionDeniedError', async () => {
    if (process.getuid?.() === 0) {
      // Root passes any mode: run the connect as nobody in a child.
      const b = await standIn();
      chmodSync(dir, 0o755);
      chmodSync(b.socketPath, 0o600);
      const script = `require(${JSON.stringify(path.resolve(__dirname, '../../dist/cjs'))})
        .connect({ broker: ${JSON.stringify(b.socketPath)} })
        .catch((e) => { console.log(JSON.stringify({ name: e.constructor.name, code: e.code, message: e.message })); });`;
      const r = spawnSync(process.execPath, ['-e', script], {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
      });
      const result = JSON.parse(r.stdout) as { name: string; code: string; message: string };
      expect(result).toMatchObject({ name: 'PermissionDeniedError', code: 'EACCES' });
      expect(result.message).toMatch(
        /may not connect to the broker's socket .*: it is open to its group only/,
      );
    } else {
      const b = await standIn();
      chmodSync(b.socketPath, 0o000);
      const error = await rejection(connect({ broker: b.socketPath }));
      expect(error).toBeInstanceOf(PermissionDeniedError);
    }
  });
});
