/**
 * The broker's wire protocol: every frame both ways, byte by byte as the
 * document lays them out; a stream split and merged at every point; and the
 * malformed, oversized, truncated, foreign-version and out-of-order inputs,
 * each refused with a BrokerProtocolError of the right reason.
 */
import {
  BROKER_FRAME_MAX_PAYLOAD,
  BROKER_FRAME_TYPE,
  BROKER_MAX_MESSAGE_LENGTH,
  BROKER_MAX_STRING_LENGTH,
  BrokerFrameDecoder,
  BrokerFrameOrder,
  BrokerProtocolError,
  decodeBrokerFrame,
  encodeBrokerFrame,
  readBrokerFrameHeader,
  toWireError,
  type BrokerFrame,
  type BrokerFrameSender,
  type BrokerProtocolErrorReason,
  type ClientFrame,
  type ServerFrame,
} from '../../lib/broker/index';
import { IbmvmcError } from '../../lib/errors/index';
import { encodeHmcMessage, HMC_ROUTER_OPCODE, HMC_TARGET } from '../../lib/protocol/index';

/** An HMC message of `length` bytes. */
const hmc = (length: number, token = 7): Buffer =>
  encodeHmcMessage(
    {
      token,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      data: Buffer.alloc(length - 32, 0x5a),
    },
    { maxLength: BROKER_MAX_MESSAGE_LENGTH },
  );

const answer = hmc(38, 1);

const clientFrames: ClientFrame[] = [
  { type: 'hello', version: 1, clientName: 'ibmvmc ping', clientVersion: '0.1.0' },
  { type: 'request', token: 0xfffffffe, message: hmc(64) },
  { type: 'request', token: 0, message: hmc(32) },
  { type: 'cancel', token: 12 },
  { type: 'subscribe', targets: [] },
  { type: 'subscribe', targets: [HMC_TARGET.LPAR_CONFIGURATION, HMC_TARGET.ROUTER] },
  { type: 'goodbye', reason: 'done — ünïcödé 🙂' },
];

const serverFrames: ServerFrame[] = [
  { type: 'welcome', version: 1, mtu: 4096, exchangeOptionsAnswer: answer },
  { type: 'answer', token: 0xfffffffe, message: hmc(4096) },
  { type: 'event', message: hmc(40) },
  { type: 'refused', token: 3, code: 'ERR_IBMVMC_READ_ONLY', text: 'this client may only listen' },
  { type: 'reset' },
  { type: 'refused', token: 4, code: 'ERR_IBMVMC_SESSION_RESET', text: '' },
  { type: 'reconnect', mtu: 16384, exchangeOptionsAnswer: answer },
  { type: 'answer', token: 5, message: hmc(32) },
  { type: 'goodbye', reason: 'the broker is stopping' },
];

/** Hex with spaces allowed, to bytes. */
const bytesOf = (hex: string): Buffer => Buffer.from(hex.replace(/ /g, ''), 'hex');

/** A frame of header fields and a payload, for inputs the encoder would never make. */
function rawFrame(
  type: number,
  payload: Buffer | string,
  header: Partial<Record<0 | 1 | 3, number>> = {},
) {
  const body = typeof payload === 'string' ? bytesOf(payload) : payload;
  const bytes = Buffer.alloc(8 + body.length);
  bytes[0] = header[0] ?? 0xb7;
  bytes[1] = header[1] ?? 1;
  bytes[2] = type;
  bytes[3] = header[3] ?? 0;
  bytes.writeUInt32BE(body.length, 4);
  body.copy(bytes, 8);
  return bytes;
}

/** A u16-length-prefixed field. */
const str = (bytes: Buffer | string): Buffer => {
  const body = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const length = Buffer.alloc(2);
  length.writeUInt16BE(body.length);
  return Buffer.concat([length, body]);
};
const u16 = (value: number): Buffer => Buffer.from([value >> 8, value & 0xff]);
const u32 = (value: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
};

/** What `call` threw, asserted to be a BrokerProtocolError. */
function protocolError(call: () => unknown): BrokerProtocolError {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BrokerProtocolError);
  return error as BrokerProtocolError;
}

/**
 * A frame with its byte fields as hex: a copy out of the chunk it may be a
 * view of, and quick to compare (Jest walks a Buffer byte by byte).
 */
const plain = (frame: BrokerFrame): unknown =>
  Object.fromEntries(
    Object.entries(frame).map(([k, v]: [string, unknown]) => [
      k,
      Buffer.isBuffer(v) ? v.toString('hex') : v,
    ]),
  );

describe('broker frames', () => {
  it('lay out the header and payloads as the document says', () => {
    expect(
      encodeBrokerFrame({
        type: 'hello',
        version: 1,
        clientName: 'ab',
        clientVersion: '1',
      }).toString('hex'),
    ).toBe('b7010100' + '00000009' + '0001' + '0002' + '6162' + '0001' + '31');
    const request = encodeBrokerFrame({ type: 'request', token: 0x01020304, message: hmc(32) });
    expect(request.subarray(0, 12).toString('hex')).toBe('b7010200' + '00000024' + '01020304');
    expect(request.subarray(12)).toEqual(hmc(32));
    expect(encodeBrokerFrame({ type: 'cancel', token: 9 }).toString('hex')).toBe(
      'b7010300' + '00000004' + '00000009',
    );
    expect(
      encodeBrokerFrame({ type: 'subscribe', targets: [0x8001, 0x8005] }).toString('hex'),
    ).toBe('b7010400' + '00000006' + '0002' + '8001' + '8005');
    expect(encodeBrokerFrame({ type: 'subscribe', targets: [] }).toString('hex')).toBe(
      'b7010400' + '00000002' + '0000',
    );
    expect(encodeBrokerFrame({ type: 'goodbye', reason: '' }).toString('hex')).toBe(
      'b7010500' + '00000002' + '0000',
    );
    const welcome = encodeBrokerFrame({
      type: 'welcome',
      version: 1,
      mtu: 4096,
      exchangeOptionsAnswer: answer,
    });
    expect(welcome.subarray(0, 14).toString('hex')).toBe(
      'b7018100' + '0000002c' + '0001' + '00001000',
    );
    expect(welcome.subarray(14)).toEqual(answer);
    expect(
      encodeBrokerFrame({ type: 'answer', token: 2, message: hmc(32) })
        .subarray(0, 12)
        .toString('hex'),
    ).toBe('b7018200' + '00000024' + '00000002');
    expect(
      encodeBrokerFrame({ type: 'event', message: hmc(32) })
        .subarray(0, 8)
        .toString('hex'),
    ).toBe('b7018300' + '00000020');
    expect(encodeBrokerFrame({ type: 'reset' }).toString('hex')).toBe('b7018400' + '00000000');
    expect(
      encodeBrokerFrame({ type: 'reconnect', mtu: 4096, exchangeOptionsAnswer: answer })
        .subarray(0, 12)
        .toString('hex'),
    ).toBe('b7018500' + '0000002a' + '00001000');
    expect(
      encodeBrokerFrame({ type: 'refused', token: 1, code: 'E', text: 'x' }).toString('hex'),
    ).toBe('b7018600' + '0000000a' + '00000001' + '0001' + '45' + '0001' + '78');
    expect(encodeBrokerFrame({ type: 'error', code: 'EACCES', text: '' }).toString('hex')).toBe(
      'b7018700' + '0000000a' + '0006' + '454143434553' + '0000',
    );
  });

  it.each(clientFrames.map((f, i) => [`${i} ${f.type}`, f] as const))(
    'client %s round-trips',
    (_, frame) => {
      const bytes = encodeBrokerFrame(frame);
      const decoded = decodeBrokerFrame(bytes, 'client');
      expect(plain(decoded)).toEqual(plain(frame));
      expect(Object.isFrozen(decoded)).toBe(true);
      expect(encodeBrokerFrame(decoded)).toEqual(bytes);
    },
  );

  it.each(serverFrames.map((f, i) => [`${i} ${f.type}`, f] as const))(
    'broker %s round-trips',
    (_, frame) => {
      const bytes = encodeBrokerFrame(frame);
      const decoded = decodeBrokerFrame(bytes, 'broker');
      expect(plain(decoded)).toEqual(plain(frame));
      expect(encodeBrokerFrame(decoded)).toEqual(bytes);
    },
  );

  it('round-trip the edges: largest messages and strings, a BOM, every target limit', () => {
    const edges: [BrokerFrameSender, BrokerFrame][] = [
      ['client', { type: 'request', token: 0xffffffff, message: hmc(BROKER_MAX_MESSAGE_LENGTH) }],
      [
        'client',
        {
          type: 'hello',
          version: 0xffff,
          clientName: 'é'.repeat(BROKER_MAX_STRING_LENGTH / 2),
          clientVersion: '\ufeffv',
        },
      ],
      ['client', { type: 'subscribe', targets: Array.from({ length: 256 }, (_, i) => 0xffff - i) }],
      [
        'broker',
        {
          type: 'welcome',
          version: 1,
          mtu: 65536,
          exchangeOptionsAnswer: hmc(BROKER_MAX_MESSAGE_LENGTH),
        },
      ],
      ['broker', { type: 'reconnect', mtu: 32, exchangeOptionsAnswer: hmc(32) }],
      [
        'broker',
        { type: 'error', code: 'E'.repeat(64), text: 'x'.repeat(BROKER_MAX_STRING_LENGTH) },
      ],
      ['broker', { type: 'refused', token: 0, code: 'A_1', text: '\0' }],
    ];
    for (const [from, frame] of edges) {
      const bytes = encodeBrokerFrame(frame);
      expect(bytes.length - 8).toBeLessThanOrEqual(BROKER_FRAME_MAX_PAYLOAD);
      expect(plain(decodeBrokerFrame(bytes, from))).toEqual(plain(frame));
    }
  });

  it('decode through views at an offset, and any Uint8Array', () => {
    const bytes = encodeBrokerFrame(clientFrames[1]);
    const backing = Buffer.alloc(bytes.length + 13, 0xee);
    bytes.copy(backing, 5);
    expect(decodeBrokerFrame(backing.subarray(5, 5 + bytes.length), 'client')).toEqual(
      clientFrames[1],
    );
    expect(decodeBrokerFrame(new Uint8Array(bytes), 'client')).toEqual(clientFrames[1]);
  });

  it('refuse to encode what the protocol cannot carry', () => {
    const bad: [string, unknown, 'TypeError' | 'RangeError'][] = [
      ['not an object', null, 'TypeError'],
      ['an unknown type', { type: 'ping' }, 'TypeError'],
      ['a token that is not a number', { type: 'cancel', token: '1' }, 'TypeError'],
      ['a token over 32 bits', { type: 'cancel', token: 2 ** 32 }, 'RangeError'],
      ['a fractional token', { type: 'cancel', token: 1.5 }, 'RangeError'],
      ['a message that is not bytes', { type: 'event', message: 'x'.repeat(40) }, 'TypeError'],
      [
        'a message shorter than a header',
        { type: 'event', message: Buffer.alloc(31) },
        'RangeError',
      ],
      ['a message over 64 KiB', { type: 'event', message: Buffer.alloc(65537) }, 'RangeError'],
      [
        'an empty client name',
        { type: 'hello', version: 1, clientName: '', clientVersion: '' },
        'RangeError',
      ],
      [
        'HELLO version 0',
        { type: 'hello', version: 0, clientName: 'a', clientVersion: '' },
        'RangeError',
      ],
      ['a string over 1024 bytes', { type: 'goodbye', reason: 'é'.repeat(513) }, 'RangeError'],
      ['a lone surrogate', { type: 'goodbye', reason: 'a\ud800b' }, 'RangeError'],
      ['a code in lower case', { type: 'error', code: 'eacces', text: '' }, 'RangeError'],
      ['a code over 64 bytes', { type: 'error', code: 'E'.repeat(65), text: '' }, 'RangeError'],
      ['a text that is not a string', { type: 'error', code: 'E', text: 5 }, 'TypeError'],
      ['targets not an array', { type: 'subscribe', targets: new Set([1]) }, 'TypeError'],
      ['a target twice', { type: 'subscribe', targets: [0x8001, 0x8001] }, 'RangeError'],
      ['a target over 16 bits', { type: 'subscribe', targets: [0x10000] }, 'RangeError'],
      [
        '257 targets',
        { type: 'subscribe', targets: Array.from({ length: 257 }, (_, i) => i) },
        'RangeError',
      ],
      [
        'WELCOME version 2',
        { type: 'welcome', version: 2, mtu: 4096, exchangeOptionsAnswer: answer },
        'RangeError',
      ],
      [
        'an MTU under 32',
        { type: 'reconnect', mtu: 31, exchangeOptionsAnswer: answer },
        'RangeError',
      ],
      [
        'an MTU over 64 KiB',
        { type: 'reconnect', mtu: 65537, exchangeOptionsAnswer: answer },
        'RangeError',
      ],
    ];
    for (const [what, frame, name] of bad) {
      let thrown: unknown;
      try {
        encodeBrokerFrame(frame as BrokerFrame);
      } catch (error) {
        thrown = error;
      }
      // By name: Buffer's own errors come from outside Jest's realm.
      expect({ what, name: (thrown as Error | undefined)?.name }).toEqual({ what, name });
    }
  });
});

describe('refused frames', () => {
  const hello = str('a');
  const cases: [string, BrokerFrameSender, Buffer | string, BrokerProtocolErrorReason][] = [
    // not this protocol
    ['a frame shorter than a header', 'client', 'b7010100 0000', 'malformed'],
    ['another magic', 'client', rawFrame(0x03, u32(1), { 0: 0x47 }), 'malformed'],
    ['an HTTP request', 'client', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'malformed'],
    ['an unknown type', 'client', rawFrame(0x06, ''), 'malformed'],
    ['a broker frame from a client', 'client', rawFrame(BROKER_FRAME_TYPE.RESET, ''), 'malformed'],
    [
      'a client frame from the broker',
      'broker',
      rawFrame(BROKER_FRAME_TYPE.CANCEL, u32(1)),
      'malformed',
    ],
    ['the reserved byte set', 'client', rawFrame(0x03, u32(1), { 3: 1 }), 'malformed'],
    // lengths
    [
      'a length over the bytes carried',
      'client',
      Buffer.concat([rawFrame(0x03, u32(1)).subarray(0, 8), u32(1).subarray(0, 3)]),
      'malformed',
    ],
    [
      'bytes after the frame',
      'client',
      Buffer.concat([rawFrame(0x03, u32(1)), Buffer.from([0])]),
      'malformed',
    ],
    ['a CANCEL of 5 bytes', 'client', rawFrame(0x03, '0000000100'), 'oversized'],
    ['a RESET with a payload', 'broker', rawFrame(0x84, '00'), 'oversized'],
    [
      'a REQUEST with a 31-byte message',
      'client',
      rawFrame(0x02, Buffer.concat([u32(1), Buffer.alloc(31)])),
      'malformed',
    ],
    [
      'a HELLO whose name runs past the end',
      'client',
      rawFrame(0x01, Buffer.concat([u16(1), u16(9), Buffer.from('ab'), u16(0)])),
      'malformed',
    ],
    [
      'a HELLO with bytes after its fields',
      'client',
      rawFrame(0x01, Buffer.concat([u16(1), hello, str(''), Buffer.from([0])])),
      'malformed',
    ],
    [
      'a HELLO with an empty name',
      'client',
      rawFrame(0x01, Buffer.concat([u16(1), str(''), str('x')])),
      'malformed',
    ],
    [
      'a SUBSCRIBE whose count is past its targets',
      'client',
      rawFrame(0x04, Buffer.concat([u16(3), u16(1), u16(2)])),
      'malformed',
    ],
    [
      'a SUBSCRIBE with a target twice',
      'client',
      rawFrame(0x04, Buffer.concat([u16(2), u16(0x8001), u16(0x8001)])),
      'malformed',
    ],
    // contents
    [
      'a name that is not UTF-8',
      'client',
      rawFrame(0x01, Buffer.concat([u16(1), str(Buffer.from([0xc3, 0x28])), str('')])),
      'malformed',
    ],
    [
      'an encoded surrogate',
      'broker',
      rawFrame(0x05, str(Buffer.from([0xed, 0xa0, 0x80]))),
      'malformed',
    ],
    ['an overlong encoding', 'broker', rawFrame(0x05, str(Buffer.from([0xc0, 0xaf]))), 'malformed'],
    [
      'an error code in lower case',
      'broker',
      rawFrame(0x87, Buffer.concat([str('eacces'), str('')])),
      'malformed',
    ],
    [
      'an empty error code',
      'broker',
      rawFrame(0x87, Buffer.concat([str(''), str('')])),
      'malformed',
    ],
    [
      'a WELCOME with an MTU of 31',
      'broker',
      rawFrame(0x81, Buffer.concat([u16(1), u32(31), answer])),
      'malformed',
    ],
    [
      'a RECONNECT with an MTU over 64 KiB',
      'broker',
      rawFrame(0x85, Buffer.concat([u32(65537), answer])),
      'malformed',
    ],
    // limits
    ['a HELLO announcing 3000 bytes', 'client', rawFrame(0x01, Buffer.alloc(3000)), 'oversized'],
    ['a string over 1024 bytes', 'broker', rawFrame(0x05, str('x'.repeat(1025))), 'oversized'],
    [
      'a HELLO name over 1024 bytes',
      'client',
      rawFrame(0x01, Buffer.concat([u16(1), str('x'.repeat(1025)), str('')])),
      'oversized',
    ],
    [
      'an error code over 64 bytes',
      'broker',
      rawFrame(0x87, Buffer.concat([str('E'.repeat(65)), str('')])),
      'oversized',
    ],
    [
      'a SUBSCRIBE of 257 targets',
      'client',
      rawFrame(0x04, Buffer.concat([u16(257), Buffer.alloc(512)])),
      'oversized',
    ],
    [
      'a SUBSCRIBE count over 256',
      'client',
      rawFrame(0x04, Buffer.concat([u16(300), Buffer.alloc(4)])),
      'oversized',
    ],
    [
      'a REQUEST with a message over 64 KiB',
      'client',
      rawFrame(0x02, Buffer.concat([u32(1), Buffer.alloc(65537)])),
      'oversized',
    ],
    // versions
    ['a frame of version 2', 'client', rawFrame(0x03, u32(1), { 1: 2 }), 'version'],
    ['a frame of version 0', 'broker', rawFrame(0x84, '', { 1: 0 }), 'version'],
    [
      'a HELLO naming version 0',
      'client',
      rawFrame(0x01, Buffer.concat([u16(0), hello, str('')])),
      'version',
    ],
    [
      'a WELCOME of version 2',
      'broker',
      rawFrame(0x81, Buffer.concat([u16(2), u32(4096), answer])),
      'version',
    ],
  ];

  it.each(cases.map(([what, from, input, reason]) => [what, from, reason, input] as const))(
    '%s, from the %s: %s',
    (_, from, reason, input) => {
      const bytes = typeof input === 'string' ? bytesOf(input) : input;
      const error = protocolError(() => decodeBrokerFrame(bytes, from));
      expect(error.reason).toBe(reason);
      // The stream decoder refuses it the same way, whether the bytes come whole or one by one.
      for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
        const decoder = new BrokerFrameDecoder(from, () => {}, { checkOrder: false });
        const streamed = protocolError(() => {
          for (const chunk of chunks) decoder.push(chunk);
          // A frame cut short is refused only when the stream says it is whole.
          if (decoder.buffered > 0) decodeBrokerFrame(bytes, from);
        });
        expect(streamed.reason).toBe(reason);
      }
    },
  );

  it.each<[string, BrokerFrameSender, number, number, number]>([
    // As docs/broker-protocol.md's tables give them.
    ['HELLO', 'client', 7, 2054, 0x01],
    ['REQUEST', 'client', 36, 65540, 0x02],
    ['CANCEL', 'client', 4, 4, 0x03],
    ['SUBSCRIBE', 'client', 2, 514, 0x04],
    ['GOODBYE', 'client', 2, 1026, 0x05],
    ['GOODBYE', 'broker', 2, 1026, 0x05],
    ['WELCOME', 'broker', 38, 65542, 0x81],
    ['ANSWER', 'broker', 36, 65540, 0x82],
    ['EVENT', 'broker', 32, 65536, 0x83],
    ['RESET', 'broker', 0, 0, 0x84],
    ['RECONNECT', 'broker', 36, 65540, 0x85],
    ['REFUSED', 'broker', 9, 1096, 0x86],
    ['ERROR', 'broker', 5, 1092, 0x87],
  ])('%s from the %s: a header announcing %i to %i payload bytes', (_, from, min, max, type) => {
    const header = (length: number) => {
      const bytes = rawFrame(type, '');
      bytes.writeUInt32BE(length, 4);
      return bytes;
    };
    expect(readBrokerFrameHeader(header(min), 0, from)).toEqual({ type, length: min });
    expect(readBrokerFrameHeader(header(max), 0, from)).toEqual({ type, length: max });
    expect(protocolError(() => readBrokerFrameHeader(header(max + 1), 0, from)).reason).toBe(
      'oversized',
    );
    if (min > 0)
      expect(protocolError(() => readBrokerFrameHeader(header(min - 1), 0, from)).reason).toBe(
        'malformed',
      );
  });

  it('refuses non-bytes as malformed', () => {
    for (const input of [undefined, null, 'b701', [0xb7], new ArrayBuffer(8), new Uint16Array(4)])
      expect(protocolError(() => decodeBrokerFrame(input as never, 'client')).reason).toBe(
        'malformed',
      );
  });

  it('gives a typed error: code, reason, the frame type, never retryable', () => {
    const error = protocolError(() => decodeBrokerFrame(rawFrame(0x03, '00'), 'client'));
    expect(error).toBeInstanceOf(IbmvmcError);
    expect(error).toMatchObject({
      name: 'BrokerProtocolError',
      code: 'ERR_IBMVMC_BROKER_PROTOCOL',
      reason: 'malformed',
      frameType: 0x03,
      retryable: false,
    });
    expect(error.message).toBe(
      'broker protocol error (malformed): CANCEL announces 1 payload bytes, under its minimum of 4',
    );
  });

  it('reads a header alone, as the stream does before waiting for the payload', () => {
    expect(readBrokerFrameHeader(bytesOf('00 b7018200 00010004'), 1, 'broker')).toEqual({
      type: 0x82,
      length: 0x10004,
    });
    expect(
      protocolError(() => readBrokerFrameHeader(bytesOf('b7018200 00010005'), 0, 'broker')).reason,
    ).toBe('oversized');
  });
});

describe('BrokerFrameDecoder', () => {
  const clientStream = Buffer.concat(clientFrames.map(encodeBrokerFrame));
  const serverStream = Buffer.concat(serverFrames.map(encodeBrokerFrame));

  /** The frames `chunks` make, each as it came out. */
  function decodeChunks(from: BrokerFrameSender, chunks: Buffer[]): unknown[] {
    const got: unknown[] = [];
    const decoder = new BrokerFrameDecoder(from, (f) => got.push(plain(f)));
    for (const chunk of chunks) decoder.push(chunk);
    expect(decoder.buffered).toBe(0);
    expect(decoder.phase).toBe('ended');
    return got;
  }

  /**
   * The frames `chunks` make, encoded again as each comes out: equal to the
   * stream only if every frame is exactly the one sent (the codec is
   * canonical), and cheap enough to check at every cut.
   */
  function reencode(from: BrokerFrameSender, chunks: Buffer[]): Buffer {
    const got: Buffer[] = [];
    const decoder = new BrokerFrameDecoder(from, (f) => got.push(encodeBrokerFrame(f)));
    for (const chunk of chunks) decoder.push(chunk);
    if (decoder.buffered !== 0 || decoder.phase !== 'ended') return Buffer.alloc(0);
    return Buffer.concat(got);
  }

  it.each([
    ['client', clientStream, clientFrames],
    ['broker', serverStream, serverFrames],
  ] as const)('reassembles a %s conversation split at every byte', (from, stream, frames) => {
    expect(
      decodeChunks(
        from,
        [...stream].map((b) => Buffer.from([b])),
      ),
    ).toEqual(frames.map(plain));
  });

  it.each([
    ['client', clientStream],
    ['broker', serverStream],
  ] as const)(
    'reassembles a %s conversation split in two, and in three, at every point',
    (from, stream) => {
      const wrong: number[] = [];
      for (let cut = 0; cut <= stream.length; cut++) {
        const second = Math.min(stream.length, cut + 1 + (cut % 37));
        if (!reencode(from, [stream.subarray(0, cut), stream.subarray(cut)]).equals(stream))
          wrong.push(cut);
        const three = [
          stream.subarray(0, cut),
          stream.subarray(cut, second),
          stream.subarray(second),
        ];
        if (!reencode(from, three).equals(stream)) wrong.push(-cut);
      }
      expect(wrong).toEqual([]);
    },
  );

  it('hands out every frame of one merged chunk, and of uneven chunks', () => {
    expect(decodeChunks('client', [clientStream])).toEqual(clientFrames.map(plain));
    const chunks: Buffer[] = [];
    for (
      let offset = 0, size = 1;
      offset < serverStream.length;
      offset += size, size = ((size * 7) % 23) + 1
    )
      chunks.push(serverStream.subarray(offset, offset + size));
    expect(decodeChunks('broker', chunks)).toEqual(serverFrames.map(plain));
  });

  it('takes the largest frame, split', () => {
    const big = encodeBrokerFrame({
      type: 'welcome',
      version: 1,
      mtu: 65536,
      exchangeOptionsAnswer: hmc(BROKER_MAX_MESSAGE_LENGTH),
    });
    expect(big.length).toBe(8 + 6 + BROKER_MAX_MESSAGE_LENGTH);
    const got: BrokerFrame[] = [];
    const decoder = new BrokerFrameDecoder('broker', (f) => got.push(f));
    decoder.push(big.subarray(0, 100));
    decoder.push(big.subarray(100));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'welcome', mtu: 65536 });
  });

  it('holds a truncated frame without handing it out', () => {
    const got: BrokerFrame[] = [];
    const decoder = new BrokerFrameDecoder('client', (f) => got.push(f));
    const hello = encodeBrokerFrame(clientFrames[0]);
    decoder.push(hello.subarray(0, hello.length - 1));
    expect(got).toEqual([]);
    expect(decoder.buffered).toBe(hello.length - 1);
    decoder.push(hello.subarray(hello.length - 1));
    expect(got).toEqual([clientFrames[0]]);
  });

  it('refuses an oversized frame as soon as its header is in, before any payload', () => {
    const decoder = new BrokerFrameDecoder('client', () => {}, { checkOrder: false });
    decoder.push(bytesOf('b7010200'));
    const error = protocolError(() => decoder.push(u32(BROKER_FRAME_MAX_PAYLOAD + 1)));
    expect(error.reason).toBe('oversized');
    expect(error.frameType).toBe(0x02);
    // A type's own limit too: a CANCEL announcing 5 bytes, or a HELLO 2055.
    for (const [type, length, reason] of [
      [0x03, 5, 'oversized'],
      [0x01, 2055, 'oversized'],
      [0x03, 3, 'malformed'],
    ] as const) {
      const header = rawFrame(type, Buffer.alloc(0));
      header.writeUInt32BE(length, 4);
      const d2 = new BrokerFrameDecoder('client', () => {}, { checkOrder: false });
      expect(protocolError(() => d2.push(header)).reason).toBe(reason);
    }
  });

  it('is unusable after an error: every later push throws the same error', () => {
    const got: BrokerFrame[] = [];
    const decoder = new BrokerFrameDecoder('client', (f) => got.push(f));
    const first = protocolError(() =>
      decoder.push(encodeBrokerFrame({ type: 'cancel', token: 1 })),
    );
    expect(first.reason).toBe('out-of-order');
    expect(protocolError(() => decoder.push(encodeBrokerFrame(clientFrames[0])))).toBe(first);
    expect(got).toEqual([]);
  });

  it('hands out the frames before a bad one in the same chunk', () => {
    const got: BrokerFrame[] = [];
    const decoder = new BrokerFrameDecoder('client', (f) => got.push(f));
    const chunk = Buffer.concat([
      encodeBrokerFrame(clientFrames[0]),
      encodeBrokerFrame({ type: 'cancel', token: 1 }),
      rawFrame(0x03, '00'),
    ]);
    expect(protocolError(() => decoder.push(chunk)).reason).toBe('malformed');
    expect(got.map((f) => f.type)).toEqual(['hello', 'cancel']);
  });
});

describe('order', () => {
  const f = {
    hello: clientFrames[0],
    request: clientFrames[1],
    cancel: clientFrames[3],
    subscribe: clientFrames[4],
    bye: clientFrames[6],
    welcome: serverFrames[0],
    answer: serverFrames[1],
    event: serverFrames[2],
    refused: serverFrames[3],
    reset: serverFrames[4],
    reconnect: serverFrames[6],
    error: { type: 'error', code: 'EACCES', text: 'uid 65534 may not use the broker' },
    farewell: serverFrames[8],
  } as const;
  type Name = keyof typeof f;

  /** Plays `names` through an order check of `from`; the index refused, or -1. */
  function play(from: BrokerFrameSender, names: Name[]): number {
    const order = new BrokerFrameOrder(from);
    for (const [i, name] of names.entries()) {
      try {
        order.accept(f[name] as never);
      } catch (error) {
        expect(error).toBeInstanceOf(BrokerProtocolError);
        expect((error as BrokerProtocolError).reason).toBe('out-of-order');
        expect(order.phase).toBe('ended');
        return i;
      }
    }
    return -1;
  }

  it.each<[string, Name[]]>([
    [
      'HELLO, then anything, then GOODBYE',
      ['hello', 'subscribe', 'request', 'cancel', 'request', 'subscribe', 'bye'],
    ],
    ['HELLO then GOODBYE', ['hello', 'bye']],
  ])('a client may send %s', (_, names) => expect(play('client', names)).toBe(-1));

  it.each<[string, Name[], number]>([
    ['nothing before HELLO', ['request'], 0],
    ['not even GOODBYE before HELLO', ['bye'], 0],
    ['one HELLO only', ['hello', 'request', 'hello'], 2],
    ['nothing after GOODBYE', ['hello', 'bye', 'request'], 2],
    ['not a second GOODBYE', ['hello', 'bye', 'bye'], 2],
  ])('a client may send %s', (_, names, at) => expect(play('client', names)).toBe(at));

  it.each<[string, Name[]]>([
    [
      'WELCOME, answers, events, a reset and its reconnect, GOODBYE',
      [
        'welcome',
        'answer',
        'event',
        'refused',
        'reset',
        'refused',
        'reconnect',
        'answer',
        'reset',
        'reconnect',
        'farewell',
      ],
    ],
    ['ERROR as its first frame (a refused peer, another version)', ['error']],
    ['GOODBYE before WELCOME (stopping)', ['farewell']],
    ['ERROR during a reset', ['welcome', 'reset', 'error']],
  ])('the broker may send %s', (_, names) => expect(play('broker', names)).toBe(-1));

  it.each<[string, Name[], number]>([
    ['no ANSWER before WELCOME', ['answer'], 0],
    ['no REFUSED before WELCOME', ['refused'], 0],
    ['one WELCOME only', ['welcome', 'welcome'], 1],
    ['no RECONNECT without a RESET', ['welcome', 'reconnect'], 1],
    ['no second RESET before RECONNECT', ['welcome', 'reset', 'reset'], 2],
    ['no ANSWER between RESET and RECONNECT', ['welcome', 'reset', 'answer'], 2],
    ['no EVENT between RESET and RECONNECT', ['welcome', 'reset', 'event'], 2],
    ['nothing after ERROR', ['welcome', 'error', 'answer'], 2],
    ['nothing after GOODBYE', ['welcome', 'farewell', 'farewell'], 2],
  ])('the broker may send %s', (_, names, at) => expect(play('broker', names)).toBe(at));

  it('names the frame and where it came', () => {
    const order = new BrokerFrameOrder('client');
    expect(() => order.accept(f.request)).toThrow(
      'broker protocol error (out-of-order): REQUEST from the client before HELLO (phase start)',
    );
    expect(() => order.accept(f.hello)).toThrow(/after its GOODBYE/);
  });

  it("refuses the other side's frames (for callers that skip the types)", () => {
    const client = new BrokerFrameOrder('client');
    client.accept(f.hello);
    expect(() => client.accept(f.answer as never)).toThrow(/is not a frame a client sends/);
    const broker = new BrokerFrameOrder('broker');
    broker.accept(f.welcome);
    expect(() => broker.accept(f.request as never)).toThrow(/is not a frame the broker sends/);
  });
});

describe('toWireError', () => {
  it('carries an error code and message', () => {
    const error = protocolError(() => decodeBrokerFrame(rawFrame(0x03, '00'), 'client'));
    const fields = toWireError(error);
    expect(fields).toEqual({ code: 'ERR_IBMVMC_BROKER_PROTOCOL', text: error.message });
    expect(decodeBrokerFrame(encodeBrokerFrame({ type: 'error', ...fields }), 'broker')).toEqual({
      type: 'error',
      ...fields,
    });
  });

  it('fits anything into the wire: a fallback code, well-formed text cut at a character', () => {
    const long = Object.assign(new Error('é'.repeat(600)), { code: 'not-a-code' });
    const fields = toWireError(long);
    expect(fields.code).toBe('ERR_IBMVMC_BROKER');
    expect(fields.text).toBe('é'.repeat(512));
    expect(toWireError(new Error(`${'x'.repeat(1023)}é`)).text).toBe('x'.repeat(1023));
    expect(toWireError(new Error('a\ud800')).text).toBe('a\ufffd');
    for (const odd of [undefined, null, 5, Symbol('x'), 'plain text', { code: 'E', message: 7 }]) {
      const w = toWireError(odd);
      expect(() => encodeBrokerFrame({ type: 'error', ...w })).not.toThrow();
    }
    const hostile = {
      get code(): string {
        throw new Error('no');
      },
    };
    expect(toWireError(hostile)).toEqual({ code: 'ERR_IBMVMC_BROKER', text: '' });
  });
});
