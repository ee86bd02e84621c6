import { readdirSync, readlinkSync } from 'node:fs';
import { startFakeDevice, type FakeDeviceOptions } from '../../lib/fake/index';
import {
  decodeHmcMessage,
  encodeHmcMessage,
  HMC_ROUTER_OPCODE,
  HMC_TARGET,
  type HmcMessage,
} from '../../lib/protocol/index';
import { VmcDevice } from '../../lib/device/device';
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
export function echoRequest(data: Buffer, t = ++token, maxLength = 16384): Buffer {
  return encodeHmcMessage(
    { token: t, target: HMC_TARGET.ROUTER, opcode: HMC_ROUTER_OPCODE.ECHO, data },
    { maxLength },
  );
}

/** Sends an echo and waits for its answer. */
export async function echo(session: HmcSession, data: Buffer): Promise<HmcMessage> {
  const t = ++token;
  await session.send(echoRequest(data, t, session.mtu));
  const answer = decodeHmcMessage(await session.receive({ timeoutMs: 5000 }), {
    maxLength: session.mtu,
  });
  if (answer.token !== t) throw new Error(`answer token ${answer.token}, expected ${t}`);
  return answer;
}

/** The fds this process has open, for leak checks. */
export function openFds(): string[] {
  return readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return fd; // the directory's own fd, gone by now
    }
  });
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

/**
 * The fds open once the preload shim has made its one per-process resource
 * (the epoll fd of its reset watcher, created at the first fake open): a
 * baseline for leak checks that counts only what our code opens.
 */
export async function fdBaseline(): Promise<string[]> {
  const fake = await startFakeDevice({});
  try {
    const device = await VmcDevice.open({ path: fake.socketPath });
    device.close();
  } finally {
    await fake.stop();
  }
  return openFds();
}

/**
 * For one test file: a function that starts fakes, all stopped after the
 * file, which then checks that no fd was left open.
 */
export function useFakes(): (options?: FakeDeviceOptions) => ReturnType<typeof startFake> {
  let before: string[];
  const started: Fake[] = [];
  beforeAll(async () => {
    before = await fdBaseline();
  });
  afterAll(async () => {
    for (const fake of started) await fake.stop();
    expect(openFds()).toEqual(before);
  });
  return async (options = {}) => {
    const f = await startFake(options);
    started.push(f.fake);
    return f;
  };
}
