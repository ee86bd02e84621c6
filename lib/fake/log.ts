/**
 * A bounded record of what the fake did: every call user space made and its
 * result, every HMC message carried, and notes about dropped or refused
 * things; with `channel` on, also every CRQ message and driver state change
 * (the start-up handshake included). Tests assert on it; `trace` prints all of
 * it as it happens. Off by default so that a busy fake allocates nothing for
 * it: producers check {@link FakeLog.enabled} before building an entry.
 */
import { describeCrq, type CrqMessage } from './crq';
import { describeResult } from './errno';

/** The calls user space can make on the device. */
export type FakeCallName =
  'open' | 'sethmcid' | 'query' | 'requestvmc' | 'ioctl' | 'write' | 'read' | 'close';

/** A call on the device and what it returned. */
export interface FakeCallEntry {
  /** When, on the scheduler's clock in milliseconds (only differences matter). */
  readonly at: number;
  /** Which kind of entry: tells the union's members apart. */
  readonly kind: 'call';
  /** The fake's number for the open file (not the process's fd number); 0 before open succeeded. */
  readonly fd: number;
  /** The call. */
  readonly call: FakeCallName;
  /** open: flags; sethmcid: 1 if the id was unreadable; ioctl: request; read/write: byte count. */
  readonly arg: number;
  /** Return value, or minus the errno. */
  readonly result: number;
}

/** A CRQ message, logged when it is sent. */
export interface FakeCrqEntry {
  /** When, on the scheduler's clock in milliseconds (only differences matter). */
  readonly at: number;
  /** Which kind of entry: tells the union's members apart. */
  readonly kind: 'crq';
  /** Who it was sent to. */
  readonly to: 'hypervisor' | 'driver';
  /** The message, decoded. */
  readonly message: CrqMessage;
}

/** An HMC message carried in a buffer (the bytes, not a copy: do not modify). */
export interface FakeMessageEntry {
  /** When, on the scheduler's clock in milliseconds (only differences matter). */
  readonly at: number;
  /** Which kind of entry: tells the union's members apart. */
  readonly kind: 'message';
  /** Which way it went. */
  readonly to: 'hypervisor' | 'partition';
  /** The slot (HMC index) it went through. */
  readonly slot: number;
  /** The slot's session number. */
  readonly session: number;
  /** The message's bytes. */
  readonly data: Buffer;
}

/** The driver's state changed (see `DRIVER_STATE`). */
export interface FakeStateEntry {
  /** When, on the scheduler's clock in milliseconds (only differences matter). */
  readonly at: number;
  /** Which kind of entry: tells the union's members apart. */
  readonly kind: 'state';
  /** The new state. */
  readonly state: number;
}

/** Anything else worth knowing: messages dropped, answers refused, faults injected. */
export interface FakeNoteEntry {
  /** When, on the scheduler's clock in milliseconds (only differences matter). */
  readonly at: number;
  /** Which kind of entry: tells the union's members apart. */
  readonly kind: 'note';
  /** Who noted it: the fake driver, the hypervisor, a socket server, or QEMU (its NOTE frames). */
  readonly source: 'driver' | 'hypervisor' | 'server' | 'qemu';
  /** What happened, in words. */
  readonly text: string;
}

/** One entry of the fake's log. */
export type FakeLogEntry =
  FakeCallEntry | FakeCrqEntry | FakeMessageEntry | FakeStateEntry | FakeNoteEntry;

/** Entries kept when the log is enabled with `true`. */
export const DEFAULT_LOG_LIMIT = 1000;

/** A ring of the most recent entries, optionally echoed to stderr. */
export class FakeLog {
  private ring: FakeLogEntry[] = [];
  private start = 0;
  private limitValue = 0;
  private channelValue = false;
  private traceValue = false;

  /**
   * @param limit - Entries kept; 0 keeps none.
   * @param channel - Also keep CRQ messages and driver state changes.
   * @param trace - Print every entry to stderr as it is added.
   */
  constructor(limit = 0, channel = false, trace = false) {
    this.configure(limit, channel, trace);
  }

  /** True when entries are kept or printed; producers skip building entries otherwise. */
  get enabled(): boolean {
    return this.limitValue > 0 || this.traceValue;
  }

  /** Changes the limit (dropping the oldest entries if needed), channel entries and tracing. */
  configure(limit: number, channel: boolean, trace: boolean): void {
    const kept = this.entries();
    this.limitValue = limit;
    this.channelValue = channel;
    this.traceValue = trace;
    this.ring = limit > 0 ? kept.slice(Math.max(0, kept.length - limit)) : [];
    this.start = 0;
  }

  /** Adds an entry (dropping the oldest beyond the limit). */
  add(entry: FakeLogEntry): void {
    if (this.traceValue) process.stderr.write(`ibmvmc-fake ${formatLogEntry(entry)}\n`);
    if (this.limitValue <= 0) return;
    if (!this.channelValue && (entry.kind === 'crq' || entry.kind === 'state')) return;
    if (this.ring.length < this.limitValue) {
      this.ring.push(entry);
    } else {
      this.ring[this.start] = entry;
      this.start = (this.start + 1) % this.limitValue;
    }
  }

  /** The kept entries, oldest first (a new array). */
  entries(): FakeLogEntry[] {
    return this.ring.slice(this.start).concat(this.ring.slice(0, this.start));
  }

  /** Forgets every entry. */
  clear(): void {
    this.ring = [];
    this.start = 0;
  }
}

/**
 * One line for an entry, for traces and failure messages.
 *
 * @param entry - The entry.
 */
export function formatLogEntry(entry: FakeLogEntry): string {
  const at = entry.at.toFixed(3).padStart(10);
  switch (entry.kind) {
    case 'call':
      return `${at} fd${entry.fd} ${entry.call}(${entry.arg}) = ${describeResult(entry.result)}`;
    case 'crq':
      return `${at} crq -> ${entry.to}: ${describeCrq(entry.message)}`;
    case 'message':
      return `${at} message -> ${entry.to} slot=${entry.slot} session=${entry.session} ${entry.data.length} bytes`;
    case 'state':
      return `${at} driver state ${entry.state}`;
    case 'note':
      return `${at} ${entry.source}: ${entry.text}`;
  }
}
