/**
 * The QEMU bridge's frames: every type both ways, a stream split and merged
 * at every point, and the malformed and oversized frames that end a connection.
 */
import {
  QEMU_FRAME_MAX_PAYLOAD,
  QEMU_PROTOCOL_ERROR,
  QemuFrameDecoder,
  QemuProtocolError,
  decodeHypervisorFrame,
  decodeQemuFrame,
  encodeHypervisorFrame,
  encodeQemuFrame,
  type HypervisorFrame,
  type QemuFrame,
} from '../../lib/fake/qemu/frames';

const entry = Buffer.from('80060001000000020000000000000040', 'hex');

const qemuFrames: QemuFrame[] = [
  {
    type: 'hello',
    version: 1,
    unitAddress: 0x71000003,
    localLiobn: 0x80000003,
    remoteLiobn: 0x80000004,
    windowSize: 0x200000,
  },
  { type: 'crq', entry },
  { type: 'rdma', address: 0x104000, data: Buffer.from('hello, hypervisor') },
  { type: 'rdma', address: 0, data: Buffer.alloc(0) },
  { type: 'request-vmc', request: 7 },
  { type: 'note', text: 'entry dropped: no queue registered — ünïcode' },
  { type: 'reset' },
];

const hypervisorFrames: HypervisorFrame[] = [
  { type: 'hello', version: 1 },
  { type: 'crq', entry },
  { type: 'mem-write', address: 0x4000, data: Buffer.alloc(4096, 0xab) },
  { type: 'request-vmc-answer', request: 7, rc: 0, value: 0x30000001 },
  { type: 'request-vmc-answer', request: 8, rc: -16, value: 0 },
];

/** The header bytes of an encoded frame. */
const header = (bytes: Buffer): string => bytes.subarray(0, 8).toString('hex');

describe('QEMU bridge frames', () => {
  it('lay out the header and payloads as the document says', () => {
    const hello = encodeQemuFrame(qemuFrames[0]);
    expect(hello.toString('hex')).toBe(
      '0100000000000014' + '00000001' + '71000003' + '80000003' + '80000004' + '00200000',
    );
    expect(header(encodeQemuFrame({ type: 'crq', entry }))).toBe('0200000000000010');
    expect(encodeQemuFrame({ type: 'rdma', address: 0x104000, data: Buffer.from([9]) })).toEqual(
      Buffer.from('030000000000000500104000' + '09', 'hex'),
    );
    expect(encodeQemuFrame({ type: 'request-vmc', request: 7 }).toString('hex')).toBe(
      '040000000000000400000007',
    );
    expect(encodeQemuFrame({ type: 'reset' }).toString('hex')).toBe('0600000000000000');
    expect(encodeHypervisorFrame({ type: 'hello', version: 1 }).toString('hex')).toBe(
      '810000000000000400000001',
    );
    expect(header(encodeHypervisorFrame({ type: 'crq', entry }))).toBe('8200000000000010');
    expect(
      encodeHypervisorFrame({ type: 'request-vmc-answer', request: 2, rc: -4, value: 5 }).toString(
        'hex',
      ),
    ).toBe('8400000000000018' + '00000002' + '00000000' + 'fffffffffffffffc' + '0000000000000005');
  });

  it.each(qemuFrames.map((f) => [f.type, f] as const))('QEMU %s round-trips', (_, frame) => {
    expect(decodeQemuFrame(encodeQemuFrame(frame))).toEqual(frame);
  });

  it.each(hypervisorFrames.map((f) => [f.type, f] as const))(
    'hypervisor %s round-trips',
    (_, frame) => {
      expect(decodeHypervisorFrame(encodeHypervisorFrame(frame))).toEqual(frame);
    },
  );

  it('refuse to encode what the layout cannot hold', () => {
    // By name: Buffer's own range errors come from outside Jest's realm.
    const rangeError = expect.objectContaining({ name: 'RangeError' }) as Error;
    expect(() => encodeQemuFrame({ type: 'crq', entry: Buffer.alloc(15) })).toThrow(rangeError);
    expect(() =>
      encodeHypervisorFrame({ type: 'mem-write', address: 0, data: Buffer.alloc(65541) }),
    ).toThrow(rangeError);
    expect(() => encodeQemuFrame({ type: 'request-vmc', request: -1 })).toThrow(rangeError);
    expect(() =>
      encodeHypervisorFrame({ type: 'request-vmc-answer', request: 1, rc: 0, value: 2 ** 60 }),
    ).toThrow(rangeError);
  });
});

describe('QemuFrameDecoder', () => {
  const stream = Buffer.concat(qemuFrames.map(encodeQemuFrame));

  const decodeChunks = (chunks: Buffer[]): QemuFrame[] => {
    const got: QemuFrame[] = [];
    // Copies: a frame's bytes are views of the chunk, which the next push may reuse.
    const decoder = new QemuFrameDecoder(decodeQemuFrame, (f) =>
      got.push(JSON.parse(JSON.stringify(f)) as QemuFrame),
    );
    for (const chunk of chunks) decoder.push(chunk);
    expect(decoder.buffered).toBe(0);
    return got;
  };
  const expected = JSON.parse(JSON.stringify(qemuFrames)) as QemuFrame[];

  it('reassembles frames split at every byte', () => {
    expect(decodeChunks([...stream].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('reassembles frames split in two at every point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(decodeChunks([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
  });

  it('hands out every frame of one merged chunk, and of uneven chunks', () => {
    expect(decodeChunks([stream])).toEqual(expected);
    const chunks: Buffer[] = [];
    for (
      let offset = 0, size = 1;
      offset < stream.length;
      offset += size, size = ((size * 7) % 23) + 1
    )
      chunks.push(stream.subarray(offset, offset + size));
    expect(decodeChunks(chunks)).toEqual(expected);
  });

  it('takes a frame of the largest payload', () => {
    const big = encodeHypervisorFrame({ type: 'mem-write', address: 0, data: Buffer.alloc(65540) });
    const got: HypervisorFrame[] = [];
    const decoder = new QemuFrameDecoder(decodeHypervisorFrame, (f) => got.push(f));
    decoder.push(big.subarray(0, 100));
    decoder.push(big.subarray(100));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'mem-write', address: 0 });
  });

  const frameOf = (hex: string): Buffer => Buffer.from(hex.replace(/ /g, ''), 'hex');

  it.each([
    ['an unknown type', '07000000 00000000'],
    ['a hypervisor type from QEMU', '81000000 00000004 00000001'],
    ['reserved header bytes set', '02000100 00000010' + '00'.repeat(16)],
    ['a short HELLO', '01000000 00000010' + '00'.repeat(16)],
    ['a CRQ entry of 15 bytes', '02000000 0000000f' + '00'.repeat(15)],
    ['an RDMA without its address', '03000000 00000002 0000'],
    ['a REQUEST_VMC of 5 bytes', '04000000 00000005 0000000100'],
    ['a RESET with a payload', '06000000 00000001 00'],
  ])('refuses %s as malformed', (_, hex) => {
    const decoder = new QemuFrameDecoder(decodeQemuFrame, () => {});
    let error: unknown;
    try {
      decoder.push(frameOf(hex));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QemuProtocolError);
    expect(error).toMatchObject({ code: QEMU_PROTOCOL_ERROR.MALFORMED });
  });

  it.each([
    ['a QEMU type from the hypervisor', '01000000 00000000'],
    ['an answer of 16 bytes', '84000000 00000010' + '00'.repeat(16)],
    [
      'an answer with its reserved word set',
      '84000000 00000018 00000001 00000001' + '00'.repeat(16),
    ],
    ['an answer whose value is over 2^53', '84000000 00000018' + '00'.repeat(16) + 'ff'.repeat(8)],
  ])('refuses %s as malformed (hypervisor side)', (_, hex) => {
    expect(() => decodeHypervisorFrame(frameOf(hex))).toThrow(
      expect.objectContaining({ code: QEMU_PROTOCOL_ERROR.MALFORMED }) as Error,
    );
  });

  it('refuses an oversized frame as soon as its header is in, without waiting for its bytes', () => {
    const decoder = new QemuFrameDecoder(decodeQemuFrame, () => {});
    decoder.push(frameOf('03000000'));
    const tooLong = Buffer.alloc(4);
    tooLong.writeUInt32BE(QEMU_FRAME_MAX_PAYLOAD + 1);
    expect(() => decoder.push(tooLong)).toThrow(
      expect.objectContaining({ code: QEMU_PROTOCOL_ERROR.TOO_LONG }) as Error,
    );
  });
});
