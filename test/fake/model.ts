/**
 * Helpers for driving the fake's model (driver + hypervisor) directly, on a
 * ManualScheduler: nothing asynchronous happens until a test runs it.
 */
import { ERRNO } from '../../lib/fake/errno';
import { FakeFile } from '../../lib/fake/fake-file';
import type { FakeDeviceOptions } from '../../lib/fake/options';
import { ManualScheduler } from '../../lib/fake/scheduler';
import { FakeSystem } from '../../lib/fake/system';

export const E = ERRNO;

/** What the driver told its listener. */
export interface Events {
  queued: Array<{ fd: number; data: Buffer }>;
  resets: number[];
}

/** A 32-byte HMC id. */
export function hmcId(name: string): Buffer {
  const id = Buffer.alloc(32);
  id.write(name, 'latin1');
  return id;
}

/**
 * A model with a manual scheduler and a listener recording events.
 *
 * @param options - Fake device options (log is on, channel included).
 * @param start - Load the module and run the undelayed start-up.
 */
export function boot(options: FakeDeviceOptions = {}, start = true) {
  const scheduler = new ManualScheduler();
  const system = new FakeSystem({ log: true, logChannel: true, ...options }, { scheduler });
  const events: Events = { queued: [], resets: [] };
  const { driver, hypervisor } = system;
  driver.listener = {
    messageQueued: (file, data) => events.queued.push({ fd: file.id, data }),
    sessionReset: (file) => events.resets.push(file.id),
  };
  if (start) {
    system.start();
    scheduler.runDue();
  }
  /** Opens a file (throws if open fails). */
  const open = (): FakeFile => {
    const file = driver.open(0, 1);
    if (typeof file === 'number') throw new Error(`open failed: ${file}`);
    return file;
  };
  /** SETHMCID, then lets the hypervisor answer the open. */
  const bind = (file: FakeFile, name = 'hmc'): void => {
    const rc = driver.setHmcId(file, hmcId(name));
    if (rc !== 0) throw new Error(`SETHMCID failed: ${rc}`);
    scheduler.runDue();
  };
  /** An open, bound, ready file. */
  const session = (name = 'hmc'): FakeFile => {
    const file = open();
    bind(file, name);
    return file;
  };
  /** read() and the message it took (null if none). */
  const read = (file: FakeFile, count = 4096): { result: number; message: Buffer | null } => {
    const result = driver.read(file, count);
    return { result, message: driver.lastMessage };
  };
  /** write() of a Buffer. */
  const write = (file: FakeFile, data: Buffer | string): number => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return driver.write(file, bytes.length, bytes);
  };
  /** The CRQ messages sent so far, as "to:TYPE" strings. */
  const crqTypes = (): string[] =>
    system.log
      .entries()
      .flatMap((e) => (e.kind === 'crq' ? [`${e.to}:${e.message.format}:${e.message.type}`] : []));
  return {
    scheduler,
    system,
    driver,
    hypervisor,
    events,
    open,
    bind,
    session,
    read,
    write,
    crqTypes,
    settle: () => scheduler.runDue(),
  };
}
