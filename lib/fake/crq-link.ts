/**
 * The pair of command/response queues between the driver and the hypervisor.
 *
 * Each direction is an ordered queue drained asynchronously, as the real
 * queues are: the driver's tasklet pulls every valid entry off its queue in
 * one go, and the hypervisor acts on the driver's entries in order. A side
 * whose queue is not registered cannot be sent to (H_SEND_CRQ fails), and the
 * driver freeing its queue (a reset) discards what was in it.
 */
import type { CrqMessage } from './crq';
import type { FakeLog } from './log';
import type { Scheduler } from './scheduler';

/** One side of the link. */
export interface CrqEndpoint {
  /** Handles one entry taken off this side's queue. */
  receive(message: CrqMessage): void;
}

/** The hypervisor's side also learns when the driver re-registers its queue. */
export interface HypervisorEndpoint extends CrqEndpoint {
  /** The driver freed and registered its queue again: its sessions are gone. */
  partnerReset(): void;
}

/** The two queues, and whether each side has registered its own. */
export class CrqLink {
  /** True once the driver has registered its queue (at probe). */
  driverRegistered = false;
  /** True while the hypervisor's side is up (false between a transport reset and re-initialisation). */
  hypervisorRegistered = true;

  private driver: CrqEndpoint | null = null;
  private hypervisor: HypervisorEndpoint | null = null;
  private toDriver: CrqMessage[] = [];
  private toHypervisor: CrqMessage[] = [];
  private driverDrainScheduled = false;
  private driverDrainStopped = false;
  private hypervisorDrainScheduled = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly log: FakeLog,
  ) {}

  /** Connects the driver's side. */
  attachDriver(endpoint: CrqEndpoint): void {
    this.driver = endpoint;
  }

  /** Connects the hypervisor's side. */
  attachHypervisor(endpoint: HypervisorEndpoint): void {
    this.hypervisor = endpoint;
  }

  /**
   * Queues an entry for the hypervisor.
   *
   * @returns false when the hypervisor's side is down (the entry is lost, as H_SEND_CRQ fails).
   */
  sendToHypervisor(message: CrqMessage): boolean {
    if (!this.hypervisorRegistered) {
      this.note('hypervisor', message);
      return false;
    }
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'crq', to: 'hypervisor', message });
    }
    this.toHypervisor.push(message);
    if (!this.hypervisorDrainScheduled) {
      this.hypervisorDrainScheduled = true;
      this.scheduler.defer(this.drainToHypervisor);
    }
    return true;
  }

  /**
   * Queues an entry for the driver.
   *
   * @returns false when the driver has no queue registered (the entry is lost).
   */
  sendToDriver(message: CrqMessage): boolean {
    if (!this.driverRegistered) {
      this.note('driver', message);
      return false;
    }
    if (this.log.enabled) {
      this.log.add({ at: this.scheduler.now(), kind: 'crq', to: 'driver', message });
    }
    this.toDriver.push(message);
    if (!this.driverDrainScheduled) {
      this.driverDrainScheduled = true;
      this.scheduler.defer(this.drainToDriver);
    }
    return true;
  }

  /**
   * The driver freed and registered its queue again (its reset task): entries
   * still queued for it are gone, and the hypervisor learns its partner reset.
   */
  driverQueueReset(): void {
    this.toDriver.length = 0;
    this.hypervisor?.partnerReset();
  }

  /**
   * Stops the drain in progress (the driver's tasklet returns when it has
   * scheduled a reset); what is queued stays until {@link driverQueueReset}
   * discards it.
   */
  stopDrainToDriver(): void {
    this.driverDrainStopped = true;
  }

  /** Entries queued and not yet taken, per direction (for tests). */
  get queued(): {
    /** Entries on their way to the driver. */
    toDriver: number;
    /** Entries on their way to the hypervisor. */
    toHypervisor: number;
  } {
    return { toDriver: this.toDriver.length, toHypervisor: this.toHypervisor.length };
  }

  /** Drops everything queued in both directions (when the fake shuts down). */
  clear(): void {
    this.toDriver.length = 0;
    this.toHypervisor.length = 0;
  }

  // Arrow properties: scheduled without allocating a closure per message.
  private readonly drainToDriver = (): void => {
    this.driverDrainScheduled = false;
    this.driverDrainStopped = false;
    // shift() rather than iterating a snapshot: the driver may stop the drain
    // mid-way (it scheduled a reset), leaving the rest for the reset to discard.
    while (!this.driverDrainStopped) {
      const message = this.toDriver.shift();
      if (message === undefined) break;
      this.driver?.receive(message);
    }
  };

  private readonly drainToHypervisor = (): void => {
    this.hypervisorDrainScheduled = false;
    let message = this.toHypervisor.shift();
    while (message !== undefined) {
      this.hypervisor?.receive(message);
      message = this.toHypervisor.shift();
    }
  };

  private note(side: 'driver' | 'hypervisor', message: CrqMessage): void {
    if (!this.log.enabled) return;
    this.log.add({
      at: this.scheduler.now(),
      kind: 'note',
      source: side === 'driver' ? 'hypervisor' : 'driver',
      text: `send to ${side} failed (its queue is not registered): ${message.format} type ${message.type}`,
    });
  }
}
