import { rejection } from '../helpers/rejection';
/**
 * The client's bookkeeping, over an in-memory transport whose answers the
 * tests control: token matching, turns, deadlines, return codes, messages
 * nobody asked for, closing and resets.
 */
import {
  AbortError,
  HMC_FLAG,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  HmcDecodeError,
  IbmvmcError,
  InvalidArgumentError,
  MessageTooLargeError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
  encodeResponse,
  type HmcMessage,
} from '../../lib/index';
import {
  HmcClient,
  HmcCommandError,
  HmcProtocolError,
  type UnsolicitedReason,
} from '../../lib/client/index';
import { MemoryTransport } from './memory-transport';

const ECHO = HMC_ROUTER_OPCODE.ECHO;
const ROUTER = HMC_TARGET.ROUTER;

/** A transport and a client attached to it, the exchange of options answered. */
async function attached(options: Parameters<typeof HmcClient.attach>[1] = {}) {
  const transport = new MemoryTransport();
  transport.onSend = (m) => transport.answer(m);
  const client = await HmcClient.attach(transport, options);
  transport.onSend = undefined;
  transport.sent.length = 0;
  return { transport, client };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('opening the command path', () => {
  it('sends exchange options (router 0x0001, 6 bytes, byte 1 = 1, response expected) and awaits the answer', async () => {
    const transport = new MemoryTransport();
    let answered = false;
    transport.onSend = (m) =>
      setTimeout(() => {
        answered = true;
        transport.answer(m, { data: Buffer.from([9, 8]) });
      }, 20);
    const client = await HmcClient.attach(transport);
    expect(answered).toBe(true);
    const [request] = transport.sent;
    expect(request.target).toBe(0x8000);
    expect(request.opcode).toBe(0x0001);
    expect(request.flags).toBe(HMC_FLAG.RESPONSE_EXPECTED);
    expect([...request.data]).toEqual([0, 1, 0, 0, 0, 0]);
    expect([...client.commandPathOptions]).toEqual([9, 8]);
    expect(client.state).toBe('open');
    await client.close({ timeoutMs: 0 });
  });

  it('rejects with HmcCommandError and closes the session when the router refuses', async () => {
    const transport = new MemoryTransport();
    transport.onSend = (m) => transport.answer(m, { returnCode: HMC_RETURN_CODE.GENERIC_ERROR });
    const error = await rejection(HmcClient.attach(transport));
    expect(error).toBeInstanceOf(HmcCommandError);
    expect(error).toBeInstanceOf(IbmvmcError);
    expect(error.message).toBe(
      'exchange-options (0x0001) to router (0x8000) failed with return code 0x8006 (generic error)',
    );
    expect((error as HmcCommandError).returnCode).toBe(0x8006);
    expect(transport.closed).toBe(true);
  });

  it('times out when the router never answers, and closes the session', async () => {
    const transport = new MemoryTransport();
    const error = await rejection(HmcClient.attach(transport, { timeoutMs: 30 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toMatch(
      /^exchange-options \(0x0001\) to router \(0x8000\) timed out after 30 ms: no answer to token \d+$/,
    );
    expect(transport.closed).toBe(true);
  });

  it('rejects bad settings before sending anything', async () => {
    const transport = new MemoryTransport();
    await expect(HmcClient.attach(transport, { maxInFlight: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(HmcClient.attach(transport, { requestTimeoutMs: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(transport.sent).toEqual([]);
  });
});

describe('request()', () => {
  it('resolves with the decoded answer to its own token, whatever the order of answers', async () => {
    const { transport, client } = await attached();
    const requests = [1, 2, 3, 4].map((n) =>
      client.request({ target: ROUTER, opcode: ECHO, data: Buffer.from([n]) }),
    );
    await tick();
    expect(transport.sent).toHaveLength(4);
    const tokens = transport.sent.map((m) => m.token);
    expect(new Set(tokens).size).toBe(4);
    for (const m of [...transport.sent].reverse()) transport.answer(m, { data: m.data });
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.data[0])).toEqual([1, 2, 3, 4]);
    expect(answers.map((a) => a.token)).toEqual(tokens);
    await client.close({ timeoutMs: 0 });
  });

  it("copies an answer's data out of a transport that may reuse its buffer", async () => {
    const { transport, client } = await attached();
    const request = client.request({ target: ROUTER, opcode: ECHO });
    await tick();
    const reused = encodeResponse(transport.sent[0], { data: Buffer.from('answer') });
    transport.push(reused);
    const answer = await request;
    reused.fill(0); // the transport's next read into the same buffer
    expect(answer.data.toString()).toBe('answer');
    await client.close({ timeoutMs: 0 });
  });

  it('keeps at most maxInFlight requests out; the rest go in call order as answers come', async () => {
    const { transport, client } = await attached({ maxInFlight: 3 });
    const requests = Array.from({ length: 8 }, (_, n) =>
      client.request({ target: ROUTER, opcode: ECHO, data: Buffer.from([n]) }),
    );
    await tick();
    expect(transport.sent.map((m) => m.data[0])).toEqual([0, 1, 2]);
    expect(client.inFlight).toBe(3);
    expect(client.waiting).toBe(5);
    transport.answer(transport.sent[1], { data: transport.sent[1].data });
    await tick();
    expect(transport.sent.map((m) => m.data[0])).toEqual([0, 1, 2, 3]);
    // From now on, answer whatever is sent.
    transport.answerEverything();
    for (const m of [transport.sent[0], transport.sent[2], transport.sent[3]])
      transport.answer(m, { data: m.data });
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(transport.sent.map((m) => m.data[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(client.inFlight).toBe(0);
    await client.close({ timeoutMs: 0 });
  });

  it('never reuses a token while its request is in flight', async () => {
    const { transport, client } = await attached({ maxInFlight: 64 });
    transport.onSend = (m) =>
      setTimeout(() => transport.answer(m, { data: m.data }), Math.random() * 5);
    const seen = new Set<number>();
    const inFlight = new Set<number>();
    const original = transport.onSend;
    transport.onSend = (m) => {
      expect(inFlight.has(m.token)).toBe(false);
      inFlight.add(m.token);
      seen.add(m.token);
      original(m);
    };
    client.on('message', (m) => inFlight.delete(m.token));
    await Promise.all(
      Array.from({ length: 500 }, (_, n) =>
        client.request({ target: ROUTER, opcode: ECHO, data: Buffer.from([n & 0xff]) }),
      ),
    );
    expect(seen.size).toBeGreaterThan(0);
    await client.close({ timeoutMs: 0 });
  });

  it('sends no response-expected flag and resolves once sent when no answer is expected', async () => {
    const { transport, client } = await attached();
    const result = await client.request({
      target: HMC_TARGET.LPAR_CONFIGURATION,
      opcode: 0x42,
      data: Buffer.from('x'),
      expectResponse: false,
    });
    expect(result).toBeUndefined();
    expect(transport.sent[0].flags).toBe(0);
    expect(client.inFlight).toBe(0);
    await client.close({ timeoutMs: 0 });
  });

  it('rejects a non-zero return code with HmcCommandError naming it', async () => {
    const { transport, client } = await attached();
    transport.onSend = (m) => transport.answer(m, { returnCode: HMC_RETURN_CODE.INVALID_OPCODE });
    const error = await rejection(
      client.request({ target: HMC_TARGET.CAPACITY_ON_DEMAND, opcode: 0x77 }),
    );
    expect(error).toBeInstanceOf(HmcCommandError);
    const e = error as HmcCommandError;
    expect(e.message).toBe(
      '0x0077 to capacity-on-demand (0x8004) failed with return code 0x8001 (invalid opcode)',
    );
    expect([e.returnCode, e.target, e.opcode, e.code]).toEqual([
      0x8001,
      0x8004,
      0x77,
      'ERR_IBMVMC_HMC_RETURN_CODE',
    ]);
    expect(e.response.token).toBe(transport.sent[0].token);
    transport.onSend = (m) => transport.answer(m, { returnCode: 0x9999 });
    expect((await rejection(client.request({ target: ROUTER, opcode: ECHO }))).message).toBe(
      'echo (0x0103) to router (0x8000) failed with return code unknown return code 0x9999',
    );
    await client.close({ timeoutMs: 0 });
  });

  it('rejects an answer with its token but another opcode with HmcProtocolError', async () => {
    const { transport, client } = await attached();
    transport.onSend = (m) =>
      transport.inject({
        token: m.token,
        target: ROUTER,
        opcode: 0x0002,
        flags: HMC_FLAG.RESPONSE,
      });
    const error = await rejection(client.request({ target: ROUTER, opcode: ECHO }));
    expect(error).toBeInstanceOf(HmcProtocolError);
    expect(error.message).toMatch(
      /^the answer to echo \(0x0103\) to router \(0x8000\) \(token \d+\) is for close \(0x0002\) to router \(0x8000\)$/,
    );
    await client.close({ timeoutMs: 0 });
  });

  it('rejects bad requests before sending anything', async () => {
    const { transport, client } = await attached();
    const bad: unknown[] = [
      { target: 0x10000, opcode: 1 },
      { target: 1, opcode: -1 },
      { target: '1', opcode: 1 },
      { target: 1, opcode: 1, data: 'text' },
      { target: 1, opcode: 1, expectResponse: 'yes' },
      { target: 1, opcode: 1, timeoutMs: -5 },
      null,
    ];
    for (const request of bad)
      expect(
        await rejection(client.request(request as Parameters<typeof client.request>[0])),
      ).toBeInstanceOf(InvalidArgumentError);
    const tooBig = await rejection(
      client.request({ target: ROUTER, opcode: ECHO, data: Buffer.alloc(4096 - 31) }),
    );
    expect(tooBig).toBeInstanceOf(MessageTooLargeError);
    expect(tooBig.message).toBe(
      "the request's data is 4065 bytes; with the 32-byte header at most 4064 fit the negotiated MTU of 4096",
    );
    expect(client.maxDataLength).toBe(4064);
    expect(transport.sent).toEqual([]);
    await client.close({ timeoutMs: 0 });
  });

  it("copies the caller's data at once, and rejects a queued request the MTU shrank under", async () => {
    const transport = new MemoryTransport(4096);
    transport.onSend = (m) => transport.answer(m);
    const client = await HmcClient.attach(transport, { maxInFlight: 1 });
    transport.onSend = undefined;
    transport.sent.length = 0;
    const holder = client.request({ target: ROUTER, opcode: ECHO });
    const data = Buffer.alloc(2000, 1);
    const queued = client.request({ target: ROUTER, opcode: ECHO, data });
    data.fill(2); // the caller reuses its buffer while the request waits its turn
    transport.answer(transport.sent[0]);
    await holder;
    await tick();
    expect(transport.sent[1].data.equals(Buffer.alloc(2000, 1))).toBe(true);
    transport.answer(transport.sent[1]);
    await queued;

    const second = client.request({ target: ROUTER, opcode: ECHO });
    const tooLate = client.request({ target: ROUTER, opcode: ECHO, data });
    (transport as { mtu: number }).mtu = 1024; // a re-negotiation, say
    transport.answer(transport.sent[2]);
    await second;
    const error = await rejection(tooLate);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error.message).toBe(
      'echo (0x0103) to router (0x8000) is 2032 bytes; the negotiated MTU is now 1024',
    );
    expect(transport.sent).toHaveLength(3);
    expect(client.inFlight).toBe(0);
    await client.close({ timeoutMs: 0 });
  });
});

describe('deadlines and signals', () => {
  it('times out without an answer, and reports the late answer as unsolicited', async () => {
    const { transport, client } = await attached({ requestTimeoutMs: 30 });
    const unsolicited: Array<[number, UnsolicitedReason]> = [];
    client.on('unsolicited', (m, reason) => unsolicited.push([m.token, reason]));
    const error = await rejection(client.request({ target: ROUTER, opcode: ECHO }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toMatch(/timed out after 30 ms: no answer to token \d+$/);
    expect(client.inFlight).toBe(0);
    const [late] = transport.sent;
    // A new request must not get the abandoned token, or it would take the late answer.
    transport.onSend = (m) => expect(m.token).not.toBe(late.token);
    const next = client.request({ target: ROUTER, opcode: ECHO, timeoutMs: 1000 });
    await tick();
    transport.answer(late);
    transport.answer(transport.sent[1]);
    await next;
    expect(unsolicited).toEqual([[late.token, 'late']]);
    await client.close({ timeoutMs: 0 });
  });

  it('times out a request still waiting for its turn, saying so', async () => {
    const { transport, client } = await attached({ maxInFlight: 1 });
    const first = client.request({ target: ROUTER, opcode: ECHO, timeoutMs: 1000 });
    const second = client.request({ target: ROUTER, opcode: ECHO, timeoutMs: 20 });
    const error = await rejection(second);
    expect(error.message).toBe(
      'echo (0x0103) to router (0x8000) timed out after 20 ms waiting for its turn (1 requests in flight, at most 1)',
    );
    expect(transport.sent).toHaveLength(1);
    transport.answer(transport.sent[0]);
    await first;
    await client.close({ timeoutMs: 0 });
  });

  it('times out a send the session holds, and withdraws it', async () => {
    const { transport, client } = await attached();
    transport.holdSends = true;
    const error = await rejection(client.request({ target: ROUTER, opcode: ECHO, timeoutMs: 20 }));
    expect(error.message).toBe(
      'echo (0x0103) to router (0x8000) timed out after 20 ms: the driver did not take it (the hypervisor has not confirmed the session, or every buffer is in flight)',
    );
    transport.releaseSends();
    expect(transport.sent).toEqual([]);
    expect(client.inFlight).toBe(0);
    await client.close({ timeoutMs: 0 });
  });

  it('keeps every deadline on one timer, untouched while requests come and go, stopped by close', async () => {
    // The exchange of options (10 s) set the timer; requests with later deadlines leave it be.
    const { transport, client } = await attached({ requestTimeoutMs: 20_000 });
    const setTimer = jest.spyOn(global, 'setTimeout');
    const clearTimer = jest.spyOn(global, 'clearTimeout');
    try {
      transport.onSend = (m) => transport.answer(m);
      for (let i = 0; i < 20; i++) await client.request({ target: ROUTER, opcode: ECHO });
      await Promise.all(
        Array.from({ length: 20 }, () => client.request({ target: ROUTER, opcode: ECHO })),
      );
      expect(setTimer).not.toHaveBeenCalled();
      expect(clearTimer).not.toHaveBeenCalled();
      await client.close({ timeoutMs: Infinity });
      expect(clearTimer).toHaveBeenCalledTimes(1);
      expect(setTimer).not.toHaveBeenCalled();
    } finally {
      setTimer.mockRestore();
      clearTimer.mockRestore();
    }
  });

  it('honours an AbortSignal, queued, sending or awaiting', async () => {
    const { transport, client } = await attached({ maxInFlight: 1 });
    const controller = new AbortController();
    const awaiting = client.request({ target: ROUTER, opcode: ECHO, signal: controller.signal });
    const queued = client.request({ target: ROUTER, opcode: ECHO, signal: controller.signal });
    await tick();
    controller.abort(new Error('enough'));
    for (const pending of [awaiting, queued]) {
      const error = await rejection(pending);
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toBe('echo (0x0103) to router (0x8000) was aborted');
      expect((error.cause as Error).message).toBe('enough');
    }
    expect(transport.sent).toHaveLength(1);
    expect(
      await rejection(client.request({ target: ROUTER, opcode: ECHO, signal: controller.signal })),
    ).toBeInstanceOf(AbortError);
    expect([client.inFlight, client.waiting]).toEqual([0, 0]);
    await client.close({ timeoutMs: 0 });
  });
});

describe('messages that answer no request', () => {
  it('delivers unsolicited messages and unknown tokens as events, and every message as "message"', async () => {
    const { transport, client } = await attached();
    const events: Array<[string, number, string?]> = [];
    client.on('message', (m) => events.push(['message', m.token]));
    client.on('unsolicited', (m, reason) => events.push(['unsolicited', m.token, reason]));
    transport.inject({ token: 0, target: HMC_TARGET.LPAR_CONFIGURATION, opcode: 0x500, flags: 0 });
    transport.inject({ token: 777777, target: ROUTER, opcode: ECHO, flags: HMC_FLAG.RESPONSE });
    transport.onSend = (m) => transport.answer(m);
    const answer = await client.request({ target: ROUTER, opcode: ECHO });
    expect(events).toEqual([
      ['message', 0],
      ['unsolicited', 0, 'not-a-response'],
      ['message', 777777],
      ['unsolicited', 777777, 'unknown-token'],
      ['message', answer.token],
    ]);
    await client.close({ timeoutMs: 0 });
  });

  it('reports malformed bytes as an event with the decode error, and carries on', async () => {
    const { transport, client } = await attached();
    const malformed: Array<[HmcDecodeError, Buffer]> = [];
    client.on('malformed', (error, bytes) => malformed.push([error, bytes]));
    transport.push(Buffer.from('not an HMC message at all, but long enough'));
    transport.push(Buffer.from([1, 2, 3]));
    transport.onSend = (m) => transport.answer(m, { data: m.data });
    await client.echo(Buffer.from('still works'));
    expect(malformed.map(([e]) => [e.constructor, e.field])).toEqual([
      [HmcDecodeError, 'descriptor'],
      [HmcDecodeError, 'length'],
    ]);
    expect(malformed[1][1]).toEqual(Buffer.from([1, 2, 3]));
    await client.close({ timeoutMs: 0 });
  });
});

describe('echo()', () => {
  it('checks that the data comes back', async () => {
    const { transport, client } = await attached();
    transport.onSend = (m) => transport.answer(m, { data: m.data });
    const answer = await client.echo(Buffer.from('hello'));
    expect(answer.data.toString()).toBe('hello');
    expect(transport.sent[0]).toMatchObject({ target: 0x8000, opcode: 0x0103 });
    transport.onSend = (m) => transport.answer(m, { data: Buffer.from('hellO') });
    const error = await rejection(client.echo(Buffer.from('hello')));
    expect(error).toBeInstanceOf(HmcProtocolError);
    expect(error.message).toBe(
      'the echo came back with other data: sent 5 bytes, got 5 that differ',
    );
    transport.onSend = (m) => transport.answer(m);
    expect((await rejection(client.echo(Buffer.from('hello')))).message).toBe(
      'the echo came back with other data: sent 5 bytes, got 0',
    );
    await client.close({ timeoutMs: 0 });
  });
});

describe('close()', () => {
  it('sends the router close last, rejects what waits, and closes the session', async () => {
    const { transport, client } = await attached({ maxInFlight: 1 });
    const inFlight = client.request({ target: ROUTER, opcode: ECHO, data: Buffer.from('a') });
    const queued = client.request({ target: ROUTER, opcode: ECHO, data: Buffer.from('b') });
    await tick();
    let closeAnswered = false;
    transport.onSend = (m) => {
      if (m.opcode === HMC_ROUTER_OPCODE.CLOSE)
        setTimeout(() => {
          closeAnswered = true;
          transport.answer(m);
        }, 20);
    };
    let closeEvents = 0;
    client.on('close', () => closeEvents++);
    const closing = client.close();
    expect(client.state).toBe('closing');
    const queuedError = await rejection(queued);
    expect(queuedError).toBeInstanceOf(SessionClosedError);
    expect(queuedError.message).toBe('the client was closed before the request was sent');
    expect(closeAnswered).toBe(false);
    expect(await rejection(client.request({ target: ROUTER, opcode: ECHO }))).toBeInstanceOf(
      SessionClosedError,
    );
    await closing;
    expect(closeAnswered).toBe(true);
    const inFlightError = await rejection(inFlight);
    expect(inFlightError).toBeInstanceOf(SessionClosedError);
    expect(inFlightError.message).toBe('the client was closed before the answer came');
    expect(transport.sent.map((m) => [m.opcode, m.data.toString()])).toEqual([
      [ECHO, 'a'],
      [HMC_ROUTER_OPCODE.CLOSE, ''],
    ]);
    expect(transport.sent[1].flags).toBe(HMC_FLAG.RESPONSE_EXPECTED);
    expect(transport.closed).toBe(true);
    expect(client.state).toBe('closed');
    expect(closeEvents).toBe(1);
    await client.close(); // idempotent
    expect(closeEvents).toBe(1);
    expect(await rejection(client.request({ target: ROUTER, opcode: ECHO }))).toBeInstanceOf(
      SessionClosedError,
    );
  });

  it('gives the router closeTimeoutMs to answer, then closes anyway', async () => {
    const { transport, client } = await attached({ closeTimeoutMs: 40 });
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(transport.closed).toBe(true);
  });

  it('refuses a bad timeout without starting to close', async () => {
    const { transport, client } = await attached();
    await expect(client.close({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(client.state).toBe('open');
    await client.close({ timeoutMs: 0 });
    expect(transport.closed).toBe(true);
  });

  it('works with await using', async () => {
    const transport = new MemoryTransport();
    transport.answerEverything();
    {
      await using client = await HmcClient.attach(transport);
      await client.echo(Buffer.from('x'));
    }
    expect(transport.closed).toBe(true);
    expect(transport.sent.at(-1)?.opcode).toBe(HMC_ROUTER_OPCODE.CLOSE);
  });
});

describe('a reset', () => {
  it('rejects every pending request with the reset error, emits reset and close', async () => {
    const { transport, client } = await attached({ maxInFlight: 1 });
    const inFlight = client.request({ target: ROUTER, opcode: ECHO });
    const queued = client.request({ target: ROUTER, opcode: ECHO });
    const seen: string[] = [];
    client.on('reset', (e) => seen.push(`reset: ${e.message}`));
    client.on('close', () => seen.push('close'));
    await tick();
    const reset = transport.reset();
    expect(await rejection(inFlight)).toBe(reset);
    expect(await rejection(queued)).toBe(reset);
    await tick();
    expect(seen).toEqual(['reset: the VMC channel was reset (test)', 'close']);
    expect(client.state).toBe('closed');
    const later = await rejection(client.request({ target: ROUTER, opcode: ECHO }));
    expect(later).toBeInstanceOf(SessionResetError);
    await client.close(); // nothing left to do, and no router close on a dead session
    expect(transport.sent.map((m) => m.opcode)).toEqual([ECHO]);
  });
});

describe('listeners', () => {
  it('get decoded, frozen messages', async () => {
    const { transport, client } = await attached();
    const messages: HmcMessage[] = [];
    client.on('unsolicited', (m) => messages.push(m));
    transport.inject({ token: 5, target: ROUTER, opcode: 0x9, flags: 0, data: Buffer.from('ev') });
    await tick();
    expect(messages).toHaveLength(1);
    expect(Object.isFrozen(messages[0])).toBe(true);
    expect(messages[0].data.toString()).toBe('ev');
    await client.close({ timeoutMs: 0 });
  });
});
