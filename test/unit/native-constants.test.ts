import { nativeConstants } from '../../lib/native/constants';

// The kernel's _IOC layout, written out independently of the C headers.
const layouts: Record<string, { write: number; read: number; dirShift: number; sizeBits: number }> =
  {
    x64: { write: 1, read: 2, dirShift: 30, sizeBits: 14 },
    arm64: { write: 1, read: 2, dirShift: 30, sizeBits: 14 },
    ppc64: { write: 4, read: 2, dirShift: 29, sizeBits: 13 },
  };

function ioc(dir: number, type: number, nr: number, size: number, layout = layouts[process.arch]) {
  return ((dir << layout.dirShift) >>> 0) + ((size << 16) >>> 0) + (type << 8) + nr;
}

describe('constants compiled into the binding', () => {
  const c = nativeConstants();
  const layout = layouts[process.arch];

  it('knows this architecture', () => {
    expect(layout).toBeDefined();
  });

  it('builds the ioctl numbers with this target’s _IOW/_IOR layout', () => {
    const pointerSize = 8; // SETHMCID is declared with a pointer type
    expect(c.ioctl.SETHMCID).toBe(ioc(layout.write, 0xcc, 0x00, pointerSize));
    expect(c.ioctl.QUERY).toBe(ioc(layout.read, 0xcc, 0x01, 12));
    expect(c.ioctl.REQUESTVMC).toBe(ioc(layout.read, 0xcc, 0x02, 4));
  });

  it('matches the well-known x86_64 and ppc64le values', () => {
    const expected =
      process.arch === 'ppc64'
        ? { SETHMCID: 0x8008cc00, QUERY: 0x400ccc01, REQUESTVMC: 0x4004cc02 }
        : { SETHMCID: 0x4008cc00, QUERY: 0x800ccc01, REQUESTVMC: 0x8004cc02 };
    expect(c.ioctl).toEqual(expected);
  });

  it('exports the errno values of this platform', () => {
    const linux = { EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, ENXIO: 6, EAGAIN: 11, EACCES: 13 };
    for (const [name, value] of Object.entries(linux)) expect(c.errno[name]).toBe(value);
    expect(c.errno.EBUSY).toBe(16);
    expect(c.errno.ENODEV).toBe(19);
    expect(c.errno.EINVAL).toBe(22);
    expect(c.errno.ENOBUFS).toBe(105);
    expect(c.errno.EBADFD).toBe(77);
    expect(c.HMC_ID_LEN).toBe(32);
    expect(c.QUERY_STRUCT_SIZE).toBe(12);
  });
});
