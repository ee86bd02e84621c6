/**
 * The layout of the hypervisor's buffers in its window: the addresses the
 * fake hypervisor lends buffers at, and the way back from an address.
 */
import {
  BUFFER_ADDRESS_STRIDE,
  BUFFER_WINDOW_SIZE,
  bufferAddress,
  locateBufferAddress,
} from '../../lib/fake/buffer-address';
import { CRQ_TYPE, type CrqHmcMessage } from '../../lib/fake/crq';
import { boot } from './model';

describe('buffer addresses', () => {
  it('are index × 1 MiB + id × 16 KiB, in a 2 MiB window', () => {
    expect(BUFFER_ADDRESS_STRIDE).toBe(0x4000);
    expect(BUFFER_WINDOW_SIZE).toBe(0x200000);
    expect(bufferAddress(0, 0)).toBe(0);
    expect(bufferAddress(0, 1)).toBe(0x4000);
    expect(bufferAddress(0, 63)).toBe(0xfc000);
    expect(bufferAddress(1, 0)).toBe(0x100000);
    expect(bufferAddress(1, 63)).toBe(0x1fc000);
  });

  it('have no value outside the layout', () => {
    expect(bufferAddress(0, 64)).toBeUndefined();
    expect(bufferAddress(2, 0)).toBeUndefined();
    expect(bufferAddress(-1, 0)).toBeUndefined();
    expect(bufferAddress(0, 1.5)).toBeUndefined();
  });

  it('map back to slot, id and offset; undefined outside the window', () => {
    expect(locateBufferAddress(0)).toEqual({ index: 0, bufferId: 0, offset: 0 });
    expect(locateBufferAddress(0x4000 * 5 + 7)).toEqual({ index: 0, bufferId: 5, offset: 7 });
    expect(locateBufferAddress(0x1fffff)).toEqual({ index: 1, bufferId: 63, offset: 0x3fff });
    for (let index = 0; index < 2; index++) {
      for (let id = 0; id < 64; id++) {
        expect(locateBufferAddress(bufferAddress(index, id) as number)).toEqual({
          index,
          bufferId: id,
          offset: 0,
        });
      }
    }
    expect(locateBufferAddress(0x200000)).toBeUndefined();
    expect(locateBufferAddress(-1)).toBeUndefined();
    expect(locateBufferAddress(0xffffffff)).toBeUndefined();
  });

  it('are what the hypervisor puts in Add Buffer', () => {
    const m = boot({ maxHmcs: 2, bufPoolSize: 16, poolSize: 16, buffers: { session: 64 } });
    m.session('a');
    const added = m.system.log
      .entries()
      .flatMap((e) =>
        e.kind === 'crq' && e.message.format === 'hmc' && e.message.type === CRQ_TYPE.ADD_BUFFER
          ? [e.message as CrqHmcMessage]
          : [],
      );
    // Start-up buffers of both slots, then the session's 64: ids from 16 on are
    // past the pool (the driver refuses them), and id 64 has no place in the window.
    expect(added.map((a) => [a.index, a.bufferId, a.word3])).toEqual([
      [0, 0, 0],
      [1, 0, 0x100000],
      ...Array.from({ length: 63 }, (_, i) => [0, i + 1, 0x4000 * (i + 1)]),
      [0, 64, 0xffffffff],
    ]);
  });
});
