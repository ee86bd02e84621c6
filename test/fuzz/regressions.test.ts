/**
 * The inputs the fuzzer found that let an untyped error out (or fired a
 * timer early), kept as plain cases so they stay fixed whatever the seed.
 */
import { HmcClient } from '../../lib/client/client';
import { InvalidArgumentError, SessionClosedError } from '../../lib/errors/index';
import { readModuleParameters, VmcDevice } from '../../lib/index';
import { isPending, useFakes } from '../helpers/session-fixtures';
import { rejection } from '../helpers/rejection';

const fake = useFakes();

/** Values whose String() or template conversion throws. */
const UNPRINTABLE: [string, unknown][] = [
  ['a Symbol', Symbol('x')],
  ['an array holding a Symbol', [Symbol('x')]],
  ['an object without a prototype', Object.create(null)],
];

async function expectInvalid(call: () => unknown) {
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidArgumentError);
}

describe('found by the fuzzer', () => {
  it('null options reject with InvalidArgumentError, not a TypeError', async () => {
    const f = await fake({ maxHmcs: 2 });
    const session = await f.open();
    const client = await HmcClient.attach(await f.open({ hmcId: 'client' }));
    await expectInvalid(() => session.send(Buffer.from('x'), null as never));
    await expectInvalid(() => session.receive(null as never));
    await expectInvalid(() => client.echo(Buffer.from('x'), null as never));
    await expectInvalid(() => client.close(null as never));
    await expectInvalid(() => VmcDevice.open(null as never));
    await expectInvalid(() => readModuleParameters(null as never));
    await expectInvalid(() => f.open({ reconnect: null as never }));
    await client.close();
    await session.close();
  });

  it.each(UNPRINTABLE)('%s as an option is described, not converted', async (_, value) => {
    const f = await fake();
    const session = await f.open();
    await expectInvalid(() => session.receive({ timeoutMs: value as never }));
    await expectInvalid(() => session.send(Buffer.from('x'), { timeoutMs: value as never }));
    await expectInvalid(() => f.open({ path: value as never }));
    await expectInvalid(() => f.open({ queueSize: value as never }));
    await expectInvalid(() => f.open({ sysfsRoot: value as never }));
    await expectInvalid(() => VmcDevice.open({ path: value as never }));
    await session.close();
  });

  it('attach() refuses what is not a session, and echo() data that is not bytes', async () => {
    for (const notASession of [null, 5, 'session', {}, { mtu: 4096 }])
      await expectInvalid(() => HmcClient.attach(notASession as never));
    const f = await fake();
    const client = await HmcClient.attach(await f.open());
    await expectInvalid(() => client.echo(undefined as never));
    await client.close();
  });

  it('a deadline too far for a timer (over 2^31-1 ms) is no deadline, not 1 ms', async () => {
    const f = await fake();
    const session = await f.open();
    const waiting = session.receive({ timeoutMs: 2 ** 31 });
    await new Promise((r) => setTimeout(r, 50));
    expect(await isPending(waiting)).toBe(true);
    await session.close();
    expect(await rejection(waiting)).toBeInstanceOf(SessionClosedError);
  });
});
