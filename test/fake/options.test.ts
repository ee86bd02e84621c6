/**
 * Options: defaults, the module parameters' clamping, checks, and merging
 * at run time.
 */
import { FakeDeviceError } from '../../lib/fake/errors';
import { DEFAULT_OPTIONS, resolveOptions } from '../../lib/fake/options';

describe('options', () => {
  it('default to a healthy hypervisor and a default driver', () => {
    const o = resolveOptions();
    expect(o).toEqual(DEFAULT_OPTIONS);
    expect(o).toMatchObject({
      mtu: 4096,
      poolSize: 16,
      slots: 2,
      maxMtu: 4096,
      bufPoolSize: 32,
      maxHmcs: 1,
      haveVmc: true,
      openAnswer: { delayMs: 0, status: 0 },
      closeAnswer: { delayMs: 0, status: 0 },
      log: 0,
    });
  });

  it('clamp the module parameters as the driver does at load', () => {
    expect(resolveOptions({ maxMtu: 100, bufPoolSize: 1000, maxHmcs: 0 })).toMatchObject({
      maxMtu: 4096,
      bufPoolSize: 64,
      maxHmcs: 1,
    });
    expect(resolveOptions({ maxMtu: 99999, bufPoolSize: 3, maxHmcs: 9 })).toMatchObject({
      maxMtu: 16384,
      bufPoolSize: 16,
      maxHmcs: 2,
    });
  });

  it('merge over the options in force, group by group', () => {
    const base = resolveOptions({ openAnswer: { delayMs: 50, status: 4 }, log: true });
    const next = resolveOptions(
      { openAnswer: { status: 0 }, closeAnswer: { delayMs: null } },
      base,
    );
    expect(next.openAnswer).toEqual({ delayMs: 50, status: 0 });
    expect(next.closeAnswer).toEqual({ delayMs: null, status: 0 });
    expect(next.log).toBe(1000);
    expect(resolveOptions({ buffers: { session: 3 } }, next).buffers.session).toBe(3);
    expect(resolveOptions({ buffers: { session: null } }, next).buffers.session).toBeNull();
  });

  it.each([
    [{ mtu: 0 }, /mtu/],
    [{ slots: 0 }, /slots/],
    [{ poolSize: 1.5 }, /poolSize/],
    [{ maxMtu: 'big' }, /maxMtu/],
    [{ openAnswer: { delayMs: -1 } }, /openAnswer.delayMs/],
    [{ closeAnswer: { status: 256 } }, /closeAnswer.status/],
    [{ requestVmc: { outcome: 'ENOENT' } }, /requestVmc.outcome/],
    [{ openFault: 'EIO' }, /openFault/],
    [{ buffers: { startupOwner: 'me' } }, /startupOwner/],
    [{ haveVmc: 1 }, /haveVmc/],
    [{ startup: { crqinitMs: Infinity } }, /crqinitMs/],
  ])('refuse %p', (options, message) => {
    const attempt = (): unknown => resolveOptions(options as never);
    expect(attempt).toThrow(FakeDeviceError);
    expect(attempt).toThrow(message);
  });
});
