/**
 * The fake machine without its sockets: the driver and the hypervisor
 * wired together over a CRQ link, sharing one log, one scheduler and one set
 * of options. The socket server and the in-process tests both drive this.
 */
import { FakeDriver } from './driver';
import { FakeDeviceError } from './errors';
import { HypervisorSide, type FakeSystemDeps } from './hypervisor-side';
import type { CrqLink } from './crq-link';
import type { FakeHypervisor } from './hypervisor';
import type { FakeLog } from './log';
import { resolveOptions, type FakeDeviceOptions, type ResolvedOptions } from './options';
import type { Scheduler } from './scheduler';

export type { FakeSystemDeps } from './hypervisor-side';

/** A driver and a hypervisor, connected. */
export class FakeSystem {
  /** Runs the deferred steps. */
  readonly scheduler: Scheduler;
  /** The fake's log. */
  readonly log: FakeLog;
  /** The CRQ between the driver and the hypervisor. */
  readonly link: CrqLink;
  /** The fake driver. */
  readonly driver: FakeDriver;
  /** The fake hypervisor. */
  readonly hypervisor: FakeHypervisor;
  private readonly side: HypervisorSide;

  /**
   * Builds the system; nothing happens until {@link start}.
   *
   * @throws FakeDeviceError for bad options.
   */
  constructor(options: FakeDeviceOptions = {}, deps: FakeSystemDeps = {}) {
    this.side = new HypervisorSide(resolveOptions(options), deps);
    this.scheduler = this.side.scheduler;
    this.log = this.side.log;
    this.link = this.side.link;
    this.hypervisor = this.side.hypervisor;
    this.driver = new FakeDriver({
      scheduler: this.scheduler,
      link: this.link,
      hypervisor: this.hypervisor,
      log: this.log,
      options: () => this.side.options,
    });
  }

  /** The options in force. */
  get options(): ResolvedOptions {
    return this.side.options;
  }

  /** Loads the "module": the adapter is probed unless `haveVmc` is false. */
  start(): void {
    if (this.options.haveVmc) this.driver.probe();
  }

  /**
   * Changes options at run time. Hypervisor behaviour applies to the next
   * event; capabilities, module parameters and start-up timing to the next
   * (re)initialisation; `openBusyMs` restarts its window now; `haveVmc: true`
   * probes an adapter that was missing.
   *
   * @throws FakeDeviceError for bad options, or `haveVmc: false` once an adapter is there (no hot unplug).
   */
  configure(options: FakeDeviceOptions): void {
    const previous = this.options;
    const next = resolveOptions(options, previous);
    if (!next.haveVmc && previous.haveVmc) {
      throw new FakeDeviceError(
        'fake device: haveVmc cannot go from true to false (the driver has no adapter removal path)',
        'ERR_IBMVMC_FAKE_OPTIONS',
      );
    }
    this.side.applyOptions(next);
    if (options.openBusyMs !== undefined) this.driver.restartOpenBusyWindow(next.openBusyMs);
    if (next.haveVmc && !previous.haveVmc) this.driver.probe();
  }

  /** Stops every timer (the scheduler too if the system made it). */
  dispose(): void {
    this.side.dispose();
  }
}
