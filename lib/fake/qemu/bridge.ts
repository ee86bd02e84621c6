/**
 * The QEMU bridge: the driver's side of the fake hypervisor's CRQ link,
 * played for the real driver in a QEMU guest (docs/qemu-vmc-bridge.md).
 *
 * What QEMU reports of the guest becomes what the fake driver would have done
 * on the link and through its HypervisorPort: CRQ entries are sent to the
 * hypervisor, copies into the hypervisor's window land in the buffer their
 * address names, H_REQUEST_VMC is asked of the hypervisor and answered with
 * the PAPR code. What the hypervisor sends the driver goes to QEMU as CRQ
 * frames, a Signal's message first written into the window. The bridge knows
 * nothing of sockets: it is given a function that sends a frame.
 */
import {
  BUFFER_ADDRESS_STRIDE,
  BUFFER_WINDOW_SIZE,
  bufferAddress,
  locateBufferAddress,
} from '../buffer-address';
import { CRQ_INIT_TYPE, CRQ_TYPE, decodeCrq, encodeCrq, type CrqMessage } from '../crq';
import type { CrqEndpoint } from '../crq-link';
import { REQUEST_VMC_RETURN_CODE } from '../hypervisor-port';
import type { HypervisorSide } from '../hypervisor-side';
import type { FakeNoteEntry } from '../log';
import {
  QEMU_BRIDGE_VERSION,
  QEMU_PROTOCOL_ERROR,
  QemuProtocolError,
  encodeHypervisorFrame,
  type HypervisorFrame,
  type QemuFrame,
  type QemuHelloFrame,
} from './frames';

/** The adapter as QEMU described it in its HELLO. */
export type QemuAdapterInfo = Omit<QemuHelloFrame, 'type' | 'version'>;

/** Sends one frame to QEMU. */
export type SendFrame = (frame: Buffer) => void;

/** The driver's side of a hypervisor's link, for a guest behind QEMU. */
export class QemuBridge implements CrqEndpoint {
  /**
   * Called whenever the guest's side may have moved on (a HELLO, an entry
   * either way, a disconnection), after the hypervisor has acted on it.
   */
  onChange: (() => void) | null = null;

  private send: SendFrame | null = null;
  private adapterValue: QemuAdapterInfo | null = null;
  /** Bumped at every connection and disconnection, so a late answer never reaches a later connection. */
  private generation = 0;

  /** @param side - The hypervisor to serve; the bridge takes the driver's side of its link. */
  constructor(private readonly side: HypervisorSide) {
    side.link.attachDriver(this);
  }

  /** True from QEMU's HELLO to the end of its connection. */
  get connected(): boolean {
    return this.adapterValue !== null;
  }

  /** The adapter QEMU described in its HELLO; null while not connected. */
  get adapter(): QemuAdapterInfo | null {
    return this.adapterValue;
  }

  /**
   * A QEMU connection came up: frames go out through `send`, and the first
   * to come in must be HELLO.
   */
  attach(send: SendFrame): void {
    this.detach();
    this.send = send;
    this.generation++;
  }

  /**
   * The connection ended. Whatever the guest had (sessions, buffers, entries
   * in flight either way) is forgotten, as when a partner's queue goes away;
   * QEMU tells the guest with a transport event of its own.
   */
  detach(): void {
    if (this.send === null) return;
    const wasConnected = this.connected;
    this.send = null;
    this.adapterValue = null;
    this.generation++;
    if (!wasConnected) return;
    const link = this.side.link;
    link.driverRegistered = false;
    link.clear();
    link.driverQueueReset();
    this.note('QEMU disconnected: every session is gone');
    this.changed();
  }

  /**
   * Handles one frame from QEMU.
   *
   * @throws QemuProtocolError (SEQUENCE) for a frame before HELLO, a second HELLO, or another protocol version.
   */
  receiveFrame(frame: QemuFrame): void {
    if (frame.type === 'hello') {
      this.hello(frame);
      return;
    }
    if (!this.connected) throw sequenceError(`${frame.type} frame before HELLO`);
    switch (frame.type) {
      case 'crq':
        this.crq(frame.entry);
        break;
      case 'rdma':
        this.rdma(frame.address, frame.data);
        break;
      case 'request-vmc':
        this.requestVmc(frame.request);
        break;
      case 'note':
        this.note(frame.text, 'qemu');
        break;
      case 'reset':
        this.note('the machine was reset: the guest’s queue is gone');
        this.side.link.driverQueueReset();
        this.changed();
        break;
    }
  }

  /** An entry for the guest's queue (the link's delivery to the driver's side). */
  receive(message: CrqMessage): void {
    if (this.send === null) return;
    if (message.format === 'hmc' && message.type === CRQ_TYPE.SIGNAL) {
      // The message must be in the window before the guest sees the Signal.
      const { index, bufferId, word3: length } = message;
      const address = bufferAddress(index, bufferId);
      if (address === undefined) {
        this.note(
          `Signal in buffer ${bufferId} of slot ${index}: no window address, bytes not sent`,
        );
      } else {
        const data = this.side.hypervisor.rdmaFromHypervisor(index, bufferId, length);
        this.write({ type: 'mem-write', address, data });
      }
    }
    this.write({ type: 'crq', entry: encodeCrq(message) });
    this.changed();
  }

  private hello(frame: QemuHelloFrame): void {
    if (this.connected) throw sequenceError('a second HELLO on the same connection');
    if (frame.version !== QEMU_BRIDGE_VERSION) {
      throw sequenceError(
        `QEMU speaks bridge protocol version ${frame.version}, this hypervisor ${QEMU_BRIDGE_VERSION}`,
      );
    }
    const adapter: QemuAdapterInfo = {
      unitAddress: frame.unitAddress,
      localLiobn: frame.localLiobn,
      remoteLiobn: frame.remoteLiobn,
      windowSize: frame.windowSize,
    };
    this.adapterValue = adapter;
    this.write({ type: 'hello', version: QEMU_BRIDGE_VERSION });
    const link = this.side.link;
    link.driverRegistered = true;
    this.note(
      `QEMU connected: adapter 0x${adapter.unitAddress.toString(16)}, window of ${adapter.windowSize} bytes`,
    );
    if (adapter.windowSize < BUFFER_WINDOW_SIZE) {
      this.note(
        `QEMU's window is smaller than the ${BUFFER_WINDOW_SIZE} bytes the buffers are laid out in: ` +
          'the guest cannot copy to or from the buffers past its end',
      );
    }
    // A guest already waiting in crqinit (QEMU reconnected) restarts the
    // handshake on this; at boot QEMU drops it, the guest having no queue yet.
    if (this.side.hypervisor.up) link.sendToDriver({ format: 'init', type: CRQ_INIT_TYPE.INIT });
    this.changed();
  }

  private crq(entry: Buffer): void {
    let message: CrqMessage;
    try {
      message = decodeCrq(entry);
    } catch (error) {
      this.note(`CRQ entry ${entry.toString('hex')} from the guest ignored: ${String(error)}`);
      return;
    }
    const sent = this.side.link.sendToHypervisor(message);
    if (sent && message.format === 'hmc' && message.type === CRQ_TYPE.SIGNAL) {
      this.logMessage(message.index, message.session, message.bufferId, message.word3);
    }
    this.changed();
  }

  private rdma(address: number, data: Buffer): void {
    const at = locateBufferAddress(address);
    // The driver copies whole messages to the start of a buffer; nothing else has a meaning here.
    if (at === undefined || at.offset !== 0 || data.length > BUFFER_ADDRESS_STRIDE) {
      this.note(
        `RDMA of ${data.length} bytes to 0x${address.toString(16)} ignored: not one buffer from its start`,
      );
      return;
    }
    // A copy: the frame's bytes are a view of a socket chunk.
    this.side.hypervisor.rdmaToHypervisor(at.index, at.bufferId, Buffer.from(data));
  }

  private requestVmc(request: number): void {
    const generation = this.generation;
    this.side.hypervisor.requestVmc().then((result) => {
      // QEMU forgets requests of an earlier connection (and ignores stale numbers itself).
      if (generation !== this.generation) return;
      this.write({
        type: 'request-vmc-answer',
        request,
        rc: REQUEST_VMC_RETURN_CODE[result.rc],
        value: result.rc === 'H_SUCCESS' ? result.index : 0,
      });
    }, this.noteFailure);
  }

  private write(frame: HypervisorFrame): void {
    this.send?.(encodeHypervisorFrame(frame));
  }

  private changed(): void {
    // Deferred: the hypervisor acts on what was forwarded in a deferred step queued before this one.
    if (this.onChange !== null) this.side.scheduler.defer(this.onChange);
  }

  private logMessage(slot: number, session: number, bufferId: number, length: number): void {
    const log = this.side.log;
    if (!log.enabled) return;
    const data = this.side.hypervisor.rdmaFromHypervisor(slot, bufferId, length);
    log.add({
      at: this.side.scheduler.now(),
      kind: 'message',
      to: 'hypervisor',
      slot,
      session,
      data,
    });
  }

  private readonly noteFailure = (error: unknown): void => {
    this.note(`REQUEST_VMC failed: ${String(error)}`);
  };

  private note(text: string, source: FakeNoteEntry['source'] = 'server'): void {
    const log = this.side.log;
    if (log.enabled) log.add({ at: this.side.scheduler.now(), kind: 'note', source, text });
  }
}

function sequenceError(message: string): QemuProtocolError {
  return new QemuProtocolError(message, QEMU_PROTOCOL_ERROR.SEQUENCE);
}
