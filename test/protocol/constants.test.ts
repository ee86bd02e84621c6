import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  HMC_DESCRIPTOR,
  HMC_FLAG,
  HMC_HEADER_LENGTH,
  HMC_RESERVED_RETURN_CODES,
  HMC_RETURN_CODE,
  HMC_RETURN_CODE_DESCRIPTIONS,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  describeReturnCode,
} from '../../lib/protocol';

// The return code table of shared/reference/hmc-command-format.md, verbatim.
const REFERENCE_RETURN_CODES: ReadonlyArray<readonly [number, string]> = [
  [0x0000, 'good'],
  [0x8001, 'invalid opcode'],
  [0x8003, 'invalid data'],
  [0x8006, 'generic error'],
  [0x8007, 'cancelled (timed out)'],
  [0x8020, 'buffer not available to queue the command'],
  [0x8021, 'invalid HMC index'],
  [0x8022, 'size out of bounds'],
  [0x8023, 'invalid target'],
  [0x8024, 'invalid category'],
  [0x8025, 'rejected: the HMC is terminating'],
  [0x8026, 'the HMC closed the command path'],
  [0x8027, 'binding of an event message failed'],
  [0x8028, 'invalid session state'],
  [0x8029, 'session mismatch'],
  [0x802a, 'invalid HMC instance id'],
  [0x802b, 'this HMC index is already open'],
  [0x802c, 'invalid buffer id'],
  [0x802d, 'invalid response'],
  [0x802e, 'invalid sync request'],
];

describe('framing constants', () => {
  test('header length, descriptor and default maximum match the reference', () => {
    expect(HMC_HEADER_LENGTH).toBe(32);
    expect([...HMC_DESCRIPTOR]).toEqual([0xde, 0xca, 0xff]);
    expect(Object.isFrozen(HMC_DESCRIPTOR)).toBe(true);
    expect(DEFAULT_MAX_MESSAGE_LENGTH).toBe(4096);
  });

  test('targets are 0x8000..0x8007 with the router first', () => {
    expect(HMC_TARGET).toEqual({
      ROUTER: 0x8000,
      LPAR_CONFIGURATION: 0x8001,
      LPAR_DYNAMIC_RECONFIGURATION: 0x8002,
      VIRTUAL_SERVICE_PROCESSOR: 0x8003,
      CAPACITY_ON_DEMAND: 0x8004,
      CONCURRENT_MAINTENANCE: 0x8005,
      TYPE_6: 0x8006,
      TYPE_7: 0x8007,
    });
  });

  test('router opcodes and flags', () => {
    expect(HMC_ROUTER_OPCODE).toEqual({ EXCHANGE_OPTIONS: 0x0001, CLOSE: 0x0002, ECHO: 0x0103 });
    expect(HMC_FLAG).toEqual({ RESPONSE_EXPECTED: 0x80, RESPONSE: 0x40 });
  });
});

describe('return codes', () => {
  test('HMC_RETURN_CODE holds exactly the codes of the reference table', () => {
    const ours = Object.values(HMC_RETURN_CODE).sort((a, b) => a - b);
    expect(ours).toEqual(REFERENCE_RETURN_CODES.map(([code]) => code));
    expect(
      Object.keys(HMC_RETURN_CODE_DESCRIPTIONS)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(ours);
  });

  test.each(REFERENCE_RETURN_CODES)('describeReturnCode(%d) is "%s"', (code, text) => {
    expect(describeReturnCode(code)).toBe(text);
  });

  test('named codes map to the right values', () => {
    expect(HMC_RETURN_CODE.GOOD).toBe(0);
    expect(HMC_RETURN_CODE.INVALID_OPCODE).toBe(0x8001);
    expect(HMC_RETURN_CODE.CANCELLED).toBe(0x8007);
    expect(HMC_RETURN_CODE.INVALID_SYNC_REQUEST).toBe(0x802e);
  });

  test('reserved codes are the six deprecated ones, described as reserved with their hex value', () => {
    expect([...HMC_RESERVED_RETURN_CODES]).toEqual([
      0x8002, 0x8004, 0x8005, 0x8008, 0x8009, 0x8010,
    ]);
    expect(describeReturnCode(0x8002)).toBe(
      'reserved return code 0x8002 (deprecated by older HMC versions)',
    );
    for (const code of HMC_RESERVED_RETURN_CODES) {
      const hexValue = `0x${code.toString(16).toUpperCase()}`;
      expect(describeReturnCode(code)).toContain(hexValue);
      expect(describeReturnCode(code)).toMatch(/^reserved return code/);
    }
  });

  test.each([
    [0x0001, 'unknown return code 0x0001'],
    [0x1234, 'unknown return code 0x1234'],
    [0x802f, 'unknown return code 0x802F'],
    [0xffff, 'unknown return code 0xFFFF'],
  ])('unknown code %d is described with its hex value', (code, text) => {
    expect(describeReturnCode(code)).toBe(text);
  });

  test.each([-1, 0x10000, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'a value that is no 16-bit code (%s) is described as invalid, without throwing',
    (code) => {
      expect(describeReturnCode(code)).toBe(
        `invalid return code ${String(code)} (not a 16-bit unsigned integer)`,
      );
    },
  );
});
