/**
 * The default handler: the command router as the public reference
 * describes it.
 */
import { routerHandler } from '../../lib/fake/router-handler';
import {
  HMC_FLAG,
  HMC_RETURN_CODE,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  decodeHmcMessage,
  encodeHmcMessage,
} from '../../lib/protocol';

const session = { slot: 0, session: 1, hmcId: 'test', mtu: 4096 };

function ask(opcode: number, data = Buffer.alloc(0), target: number = HMC_TARGET.ROUTER) {
  const request = encodeHmcMessage({ token: 0x01020304, target, opcode, data });
  const answer = routerHandler(request, session);
  return answer === undefined ? undefined : decodeHmcMessage(answer, { maxLength: 4096 });
}

describe('the default router handler', () => {
  it('answers exchange options and close with a good response', () => {
    for (const opcode of [HMC_ROUTER_OPCODE.EXCHANGE_OPTIONS, HMC_ROUTER_OPCODE.CLOSE]) {
      expect(ask(opcode, Buffer.from([0, 1, 0, 0, 0, 0]))).toEqual({
        token: 0x01020304,
        target: HMC_TARGET.ROUTER,
        flags: HMC_FLAG.RESPONSE,
        opcode,
        returnCode: HMC_RETURN_CODE.GOOD,
        data: Buffer.alloc(0),
      });
    }
  });

  it('echoes the data back', () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    expect(ask(HMC_ROUTER_OPCODE.ECHO, data)).toMatchObject({
      opcode: HMC_ROUTER_OPCODE.ECHO,
      flags: HMC_FLAG.RESPONSE,
      returnCode: 0,
      data,
    });
  });

  it('answers other opcodes and other targets with "invalid opcode"', () => {
    expect(ask(0x0777)).toMatchObject({
      opcode: 0x0777,
      returnCode: HMC_RETURN_CODE.INVALID_OPCODE,
    });
    expect(
      ask(HMC_ROUTER_OPCODE.ECHO, Buffer.from('x'), HMC_TARGET.LPAR_CONFIGURATION),
    ).toMatchObject({
      target: HMC_TARGET.LPAR_CONFIGURATION,
      returnCode: HMC_RETURN_CODE.INVALID_OPCODE,
      data: Buffer.alloc(0),
    });
  });

  it('says nothing to bytes that do not decode, or to responses', () => {
    expect(
      routerHandler(Buffer.from('not an HMC message at all, really'), session),
    ).toBeUndefined();
    const response = encodeHmcMessage({
      token: 1,
      target: HMC_TARGET.ROUTER,
      opcode: HMC_ROUTER_OPCODE.ECHO,
      flags: HMC_FLAG.RESPONSE,
    });
    expect(routerHandler(response, session)).toBeUndefined();
  });
});
