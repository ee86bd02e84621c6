import { readdirSync } from 'node:fs';
import { startFakeDevice, type FakeDeviceOptions } from '../../lib/fake/index';
import {
  decodeHmcMessage,
  encodeHmcMessage,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  type HmcMessage,
} from '../../lib/protocol/index';
import { open, type HmcSession, type SessionOptions } from '../../lib/session/session';

export type Fake = Awaited<ReturnType<typeof startFakeDevice>>;

/** Starts a fake device; the session options that reach it (no environment needed). */
export async function startFake(options: FakeDeviceOptions = {}) {
  const fake = await startFakeDevice(options);
  const sessionOptions = (extra: Partial<SessionOptions> = {}): SessionOptions => ({
    hmcId: 'test-hmc',
    path: fake.socketPath,
    sysfsRoot: fake.sysfsRoot,
    timeoutMs: 5000,
    ...extra,
  });
  return {
    fake,
    sessionOptions,
    open: (extra: Partial<SessionOptions> = {}) => open(sessionOptions(extra)),
  };
}

let token = 0;

/** A router echo request carrying `data`. */
export function echoRequest(data: Buffer, t = ++token): Buffer {
  return encodeHmcMessage({
    token: t,
    target: HMC_TARGET.ROUTER,
    opcode: HMC_ROUTER_OPCODE.ECHO,
    data,
  });
}

/** Sends an echo and waits for its answer. */
export async function echo(session: HmcSession, data: Buffer): Promise<HmcMessage> {
  const t = ++token;
  await session.send(echoRequest(data, t));
  const answer = decodeHmcMessage(await session.receive({ timeoutMs: 5000 }), {
    maxLength: session.mtu,
  });
  if (answer.token !== t) throw new Error(`answer token ${answer.token}, expected ${t}`);
  return answer;
}

/** The fds this process has open, for leak checks. */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd');
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether a promise is still pending after the current turn. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(0).then(() => marker),
  ]);
  return result === marker;
}
