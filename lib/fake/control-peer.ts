/**
 * The fake's side of its controls. A fake device can be driven by several
 * peers at once: the program that started it (over the child's IPC channel or
 * the worker's port) and any process attached to it (over its attach socket).
 * Each peer runs controls and may set message handlers that run on its side;
 * when a peer goes away, the handlers it set go with it, so the default
 * router answers again instead of messages waiting for a peer that is gone.
 */
import type { FakeDevice } from './fake-device';
import type { FakeMessageHandler } from './handler';
import {
  serializeError,
  toBuffer,
  type ControlMethod,
  type FromFake,
  type IpcPort,
  type ToFake,
} from './ipc';
import type { FakeDeviceOptions } from './options';

/** Which handler a peer set: every slot's, or one slot's. */
type HandlerKey = number | 'all';

/** The controls of one running fake device, shared by all its peers. */
export class FakeControls {
  /** Who set each handler now in place. */
  private readonly owners = new Map<HandlerKey, ControlPeer>();

  constructor(private readonly device: FakeDevice) {}

  /** A peer that speaks over `port`; call {@link ControlPeer.close} when it goes away. */
  peer(port: IpcPort<FromFake, ToFake>): ControlPeer {
    return new ControlPeer(this, port);
  }

  /** Runs one control for `from`. */
  async run(method: ControlMethod, args: readonly unknown[], from: ControlPeer): Promise<unknown> {
    const d = this.device;
    switch (method) {
      case 'reset':
        d.reset((args[0] ?? {}) as { reinitializeAfterMs?: number | null });
        return undefined;
      case 'configure':
        await d.configure((args[0] ?? {}) as FakeDeviceOptions);
        return undefined;
      case 'inject':
        return d.inject(Number(args[0]), toBuffer(args[1] as Uint8Array));
      case 'setHandler':
        this.setHandler(from, args[0] === true, args[1] as number | undefined);
        return undefined;
      case 'sessions':
        return d.sessions();
      case 'state':
        return d.state();
      case 'log':
        // Copies of the message bytes: a view would drag its whole backing buffer along.
        return d
          .log()
          .map((entry) =>
            entry.kind === 'message' ? { ...entry, data: new Uint8Array(entry.data) } : entry,
          );
      case 'clearLog':
        d.clearLog();
        return undefined;
    }
  }

  /** Makes `from` the handler of every slot or one (`on`), or restores the default. */
  setHandler(from: ControlPeer, on: boolean, slot?: number): void {
    const key: HandlerKey = slot ?? 'all';
    this.device.setHandler(on ? from.forward : null, slot);
    if (on) this.owners.set(key, from);
    else this.owners.delete(key);
  }

  /** `peer` went away: the handlers it set are removed. */
  forget(peer: ControlPeer): void {
    for (const [key, owner] of this.owners) {
      if (owner !== peer) continue;
      this.owners.delete(key);
      this.device.setHandler(null, key === 'all' ? undefined : key);
    }
  }
}

/** One peer of a fake: runs the controls it sends and forwards messages to its handler. */
export class ControlPeer {
  private nextHandleId = 1;
  private readonly waitingAnswers = new Map<number, (answers: Buffer[] | undefined) => void>();
  private closed = false;

  constructor(
    private readonly controls: FakeControls,
    private readonly port: IpcPort<FromFake, ToFake>,
  ) {}

  /** Hands a session's message to the peer and waits for its answers. */
  readonly forward: FakeMessageHandler = (message, session) =>
    new Promise((resolve) => {
      if (this.closed) {
        resolve(undefined);
        return;
      }
      const id = this.nextHandleId++;
      this.waitingAnswers.set(id, resolve);
      // A copy of just the message, for the reason given in FakeControls.run.
      this.port.send({ type: 'handle', id, message: new Uint8Array(message), session });
    });

  /**
   * Takes a message from the peer: a control to run or a handler's answers.
   *
   * @returns false for any other message (start and stop are the owner's business).
   */
  receive(message: ToFake): boolean {
    switch (message.type) {
      case 'call':
        this.controls.run(message.method, message.args, this).then(
          (value) => this.port.send({ type: 'result', id: message.id, value }),
          (error: unknown) =>
            this.port.send({ type: 'error', id: message.id, error: serializeError(error) }),
        );
        return true;
      case 'handled': {
        const resolve = this.waitingAnswers.get(message.id);
        this.waitingAnswers.delete(message.id);
        resolve?.(message.answers.map(toBuffer));
        return true;
      }
      default:
        return false;
    }
  }

  /** The peer is gone: messages waiting for it go unanswered, its handlers are removed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const resolve of this.waitingAnswers.values()) resolve(undefined);
    this.waitingAnswers.clear();
    this.controls.forget(this);
  }
}
