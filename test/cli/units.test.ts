/**
 * The CLI's pure parts: the exit code of every error class, statistics,
 * value parsing, message formatting and the progress line.
 */
import { HmcCommandError, HmcProtocolError } from '../../lib/client/index';
import { EXIT, exitCodeFor } from '../../lib/cli/exit-codes';
import { describeFlags, hexDump, messageLine } from '../../lib/cli/format-message';
import { parseHex, parseInteger, parseOpcode, parseTarget } from '../../lib/cli/parse-values';
import { ProgressLine } from '../../lib/cli/progress';
import { formatMs, roundTripStats } from '../../lib/cli/stats';
import { UsageError } from '../../lib/cli/usage-error';
import { FakeDeviceError } from '../../lib/fake/errors';
import {
  AbortError,
  DeviceBusyError,
  DeviceIoError,
  DeviceNotFoundError,
  DriverFailedError,
  DriverNotReadyError,
  HmcDecodeError,
  IbmvmcError,
  InvalidArgumentError,
  MessageTooLargeError,
  NoBuffersError,
  NoSlotFreeError,
  PermissionDeniedError,
  SessionClosedError,
  SessionResetError,
  TimeoutError,
  decodeHmcMessage,
  encodeHmcMessage,
} from '../../lib/index';

const response = decodeHmcMessage(
  encodeHmcMessage({ token: 7, target: 0x8000, opcode: 0x0103, flags: 0x40, returnCode: 0x8001 }),
);

describe('exit codes', () => {
  it.each([
    [new UsageError('x'), EXIT.USAGE],
    [new InvalidArgumentError('x'), EXIT.USAGE],
    [new InvalidArgumentError('x', { syscall: 'ioctl:REQUESTVMC' }), EXIT.IO],
    [new MessageTooLargeError('x'), EXIT.USAGE],
    [new DeviceNotFoundError('x'), EXIT.NOT_FOUND],
    [new PermissionDeniedError('x'), EXIT.PERMISSION],
    [new DriverFailedError('x'), EXIT.DRIVER_FAILED],
    [new DriverNotReadyError('x'), EXIT.BUSY],
    [new NoBuffersError('x'), EXIT.BUSY],
    [new NoSlotFreeError('x'), EXIT.BUSY],
    [new DeviceBusyError('x'), EXIT.BUSY],
    [new TimeoutError('x'), EXIT.TIMEOUT],
    [new SessionResetError('x'), EXIT.SESSION_GONE],
    [new SessionClosedError(), EXIT.SESSION_GONE],
    [new DeviceIoError('x'), EXIT.IO],
    [new HmcCommandError(response), EXIT.COMMAND_FAILED],
    [new HmcProtocolError('x'), EXIT.PROTOCOL],
    [new HmcDecodeError('length', { found: '1', expected: '32' }), EXIT.PROTOCOL],
    [new FakeDeviceError('x', 'ERR_IBMVMC_FAKE'), EXIT.FAKE_FAILED],
    [new AbortError(), EXIT.INTERRUPTED],
    [new IbmvmcError('x', { code: 'EFAULT' }), EXIT.UNEXPECTED],
    [new Error('x'), EXIT.UNEXPECTED],
    ['not even an error', EXIT.UNEXPECTED],
  ])('%s → %d', (error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });
});

describe('round-trip statistics', () => {
  it('min, median, p99 (nearest rank) and max', () => {
    expect(roundTripStats([])).toEqual({ min: null, median: null, p99: null, max: null });
    expect(roundTripStats([3, 1, 2])).toEqual({ min: 1, median: 2, p99: 3, max: 3 });
    expect(roundTripStats([4, 1, 3, 2])).toMatchObject({ median: 2.5 });
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(roundTripStats(hundred)).toEqual({ min: 1, median: 50.5, p99: 99, max: 100 });
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(roundTripStats(thousand).p99).toBe(990);
  });

  it('formats milliseconds', () => {
    expect([formatMs(null), formatMs(0.1234), formatMs(12.34), formatMs(1234.5)]).toEqual([
      '-',
      '0.123',
      '12.3',
      '1235',
    ]);
  });
});

describe('value parsing', () => {
  it('integers in decimal or hex, in range', () => {
    expect(parseInteger('--n', '42', 0, 100)).toBe(42);
    expect(parseInteger('--n', '0x2A', 0, 100)).toBe(42);
    expect(() => parseInteger('--n', '4.2', 0, 100)).toThrow('--n takes an integer');
    expect(() => parseInteger('--n', '101', 0, 100)).toThrow('--n must be from 0 to 100, got 101');
  });

  it('targets and opcodes by number or name', () => {
    expect(parseTarget('router')).toBe(0x8000);
    expect(parseTarget('LPAR_DYNAMIC_RECONFIGURATION')).toBe(0x8002);
    expect(parseTarget('0x8003')).toBe(0x8003);
    expect(() => parseTarget('nowhere')).toThrow(UsageError);
    expect(parseOpcode('exchange-options', 0x8000)).toBe(1);
    expect(parseOpcode('0x0103', 0x8001)).toBe(0x103);
    expect(() => parseOpcode('echo', 0x8001)).toThrow('a router opcode');
  });

  it('hex data in the usual spellings', () => {
    for (const text of ['deadbeef', '0xDEADBEEF', 'de ad be ef', 'de:ad:be:ef'])
      expect(parseHex(text)).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(parseHex('')).toEqual(Buffer.alloc(0));
    expect(() => parseHex('abc')).toThrow('odd number of hex digits');
    expect(() => parseHex('zz')).toThrow('--data takes hex bytes');
  });
});

describe('message formatting', () => {
  it('flags, hex dumps and one-line messages', () => {
    expect(describeFlags(0x40)).toBe('0x40 (response)');
    expect(describeFlags(0x80)).toBe('0x80 (response expected)');
    expect(describeFlags(0)).toBe('0x00 (request, no response expected)');
    expect(describeFlags(0x41)).toBe('0x41 (response, other bits 0x01)');
    expect(hexDump(Buffer.from('0123456789abcdefXY'))).toEqual([
      '0000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef',
      '0010  58 59                                            XY',
    ]);
    expect(messageLine(response)).toBe(
      'token=7 target=router (0x8000) opcode=echo (0x0103) flags=0x40 rc=0x8001 data=none',
    );
  });
});

describe('the progress line', () => {
  function stream(isTTY: boolean) {
    const written: string[] = [];
    return {
      written,
      stream: Object.assign(
        { write: (chunk: string) => written.push(chunk) > 0 },
        { isTTY },
      ) as unknown as NodeJS.WritableStream & { isTTY?: boolean },
    };
  }

  it('draws over itself on a terminal and clears before other output', () => {
    const tty = stream(true);
    const line = new ProgressLine(tty.stream, true);
    line.update('1/3');
    line.update('2/3');
    line.clear();
    line.clear();
    expect(tty.written).toEqual(['\r\x1b[K1/3', '\r\x1b[K2/3', '\r\x1b[K']);
  });

  it('stays silent when not on a terminal, or not wanted', () => {
    const pipe = stream(false);
    new ProgressLine(pipe.stream, true).update('x');
    const tty = stream(true);
    new ProgressLine(tty.stream, false).update('x');
    expect([pipe.written, tty.written]).toEqual([[], []]);
  });
});
