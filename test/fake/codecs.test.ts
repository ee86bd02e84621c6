/**
 * The byte layouts: CRQ entries as the driver's header lays them out, and
 * the wire protocol's frames, split across chunks in every way.
 */
import {
  CRQ_TYPE,
  decodeCrq,
  describeCrq,
  encodeCrq,
  hmcMessage,
  type CrqMessage,
} from '../../lib/fake/crq';
import {
  FrameReader,
  WIRE_OP,
  encodeDataFrame,
  encodeReply,
  encodeReplyWords,
  encodeRequest,
  parseRequest,
} from '../../lib/fake/wire';

describe('CRQ entries', () => {
  it('lay out a VMC message as the driver reads it', () => {
    const bytes = encodeCrq(
      hmcMessage(CRQ_TYPE.ADD_BUFFER, {
        owner: 1,
        session: 7,
        index: 1,
        bufferId: 0x0203,
        word3: 0x0a0b0c0d,
      }),
    );
    expect([...bytes]).toEqual([0x80, 0x04, 0, 1, 7, 1, 2, 3, 0, 0, 0, 0, 0x0a, 0x0b, 0x0c, 0x0d]);
  });

  it('lay out capabilities in the admin layout', () => {
    const bytes = encodeCrq({
      format: 'capabilities',
      type: CRQ_TYPE.CAPABILITIES,
      status: 0,
      maxHmc: 2,
      poolSize: 0x20,
      maxMtu: 0x1000,
      crqSize: 0x100,
      version: 0x0101,
    });
    expect([...bytes]).toEqual([0x80, 1, 0, 0, 0, 2, 0, 0x20, 0, 0, 0x10, 0, 1, 0, 1, 1]);
  });

  it('round-trip every format', () => {
    const messages: CrqMessage[] = [
      { format: 'init', type: 1 },
      { format: 'init', type: 2 },
      { format: 'transport', type: 2 },
      {
        format: 'capabilities',
        type: CRQ_TYPE.CAPABILITIES_RESPONSE,
        status: 0,
        maxHmc: 1,
        poolSize: 16,
        maxMtu: 16384,
        crqSize: 256,
        version: 0x0102,
      },
      hmcMessage(CRQ_TYPE.SIGNAL, { session: 254, index: 1, bufferId: 63, word3: 4096 }),
      hmcMessage(CRQ_TYPE.OPEN_RESPONSE, { status: 4, session: 1 }),
    ];
    for (const message of messages) {
      expect(decodeCrq(encodeCrq(message))).toEqual(message);
      expect(describeCrq(message).length).toBeGreaterThan(0);
    }
  });

  it('refuse short input and unknown valid bytes', () => {
    expect(() => decodeCrq(new Uint8Array(15))).toThrow(RangeError);
    expect(() => decodeCrq(new Uint8Array(16))).toThrow(/valid byte/);
  });
});

describe('wire frames', () => {
  it('encode requests, replies and data frames little-endian', () => {
    const request = encodeRequest(WIRE_OP.WRITE, 3, 0, Buffer.from('abc'));
    expect([...request]).toEqual([3, 0, 0, 0, 6, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 97, 98, 99]);
    expect(parseRequest(request)).toEqual({ op: 6, arg0: 3, arg1: 0, payload: Buffer.from('abc') });
    expect([...encodeReply(-16)]).toEqual([0, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff]);
    expect([...encodeReplyWords(0, [1, -1, 0x90000001])]).toEqual([
      12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0x90,
    ]);
    expect([...encodeDataFrame(Buffer.from('hi'), 4096)]).toEqual([
      2, 0, 0, 0, 0, 16, 0, 0, 104, 105,
    ]);
  });

  it('are reassembled from any split of the stream', () => {
    const frames = [
      encodeRequest(WIRE_OP.QUERY, 0, 0),
      encodeRequest(WIRE_OP.WRITE, 5, 0, Buffer.from('hello')),
      encodeRequest(WIRE_OP.SETHMCID, 0, 0, Buffer.alloc(32, 7)),
      encodeRequest(WIRE_OP.WRITE, 70000 % 65536, 0, Buffer.alloc(70000 % 65536, 1)),
    ];
    const stream = Buffer.concat(frames);
    for (const size of [1, 3, 7, 16, 17, 100, stream.length]) {
      const got: Buffer[] = [];
      const reader = new FrameReader(16, 65536, (frame) => got.push(Buffer.from(frame)));
      for (let offset = 0; offset < stream.length; offset += size) {
        reader.push(stream.subarray(offset, offset + size));
      }
      expect(got).toEqual(frames);
      expect(reader.buffered).toBe(0);
    }
  });

  it('refuse a frame announcing more than the maximum', () => {
    const reader = new FrameReader(16, 100, () => {});
    expect(() => reader.push(encodeRequest(WIRE_OP.WRITE, 101, 0, Buffer.alloc(101)))).toThrow(
      /over the maximum/,
    );
  });
});
