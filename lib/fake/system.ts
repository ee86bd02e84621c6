/**
 * The fake machine without its sockets: the driver and the hypervisor wired
 * together over a CRQ link, sharing one log, one scheduler and one set of
 * options. The socket server and the in-process tests both drive this.
 */
import { CrqLink } from './crq-link';
import { FakeDriver } from './driver';
import { FakeDeviceError } from './errors';
import { FakeHypervisor } from './hypervisor';
import { FakeLog } from './log';
import { resolveOptions, type FakeDeviceOptions, type ResolvedOptions } from './options';
import { RealScheduler, type Scheduler } from './scheduler';

/** What a system can be built with besides its options. */
export interface FakeSystemDeps {
  /** Defaults to a {@link RealScheduler}, disposed with the system. */
  readonly scheduler?: Scheduler;
}

/** A driver and a hypervisor, connected. */
export class FakeSystem {
  readonly scheduler: Scheduler;
  readonly log: FakeLog;
  readonly link: CrqLink;
  readonly driver: FakeDriver;
  readonly hypervisor: FakeHypervisor;
  private optionsValue: ResolvedOptions;
  private readonly ownsScheduler: boolean;

  /**
   * Builds the system; nothing happens until {@link start}.
   *
   * @throws FakeDeviceError for bad options.
   */
  constructor(options: FakeDeviceOptions = {}, deps: FakeSystemDeps = {}) {
    this.optionsValue = resolveOptions(options);
    this.ownsScheduler = deps.scheduler === undefined;
    this.scheduler = deps.scheduler ?? new RealScheduler();
    const o = this.optionsValue;
    this.log = new FakeLog(o.log, o.logChannel, o.trace);
    this.link = new CrqLink(this.scheduler, this.log);
    const getOptions = (): ResolvedOptions => this.optionsValue;
    this.hypervisor = new FakeHypervisor({
      scheduler: this.scheduler,
      link: this.link,
      log: this.log,
      options: getOptions,
    });
    this.driver = new FakeDriver({
      scheduler: this.scheduler,
      link: this.link,
      hypervisor: this.hypervisor,
      log: this.log,
      options: getOptions,
    });
  }

  /** The options in force. */
  get options(): ResolvedOptions {
    return this.optionsValue;
  }

  /** Loads the "module": the adapter is probed unless `haveVmc` is false. */
  start(): void {
    if (this.optionsValue.haveVmc) this.driver.probe();
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
    const next = resolveOptions(options, this.optionsValue);
    if (!next.haveVmc && this.optionsValue.haveVmc) {
      throw new FakeDeviceError(
        'fake device: haveVmc cannot go from true to false (the driver has no adapter removal path)',
        'ERR_IBMVMC_FAKE_OPTIONS',
      );
    }
    const probe = next.haveVmc && !this.optionsValue.haveVmc;
    this.optionsValue = next;
    this.log.configure(next.log, next.logChannel, next.trace);
    if (options.openBusyMs !== undefined) this.driver.restartOpenBusyWindow(next.openBusyMs);
    if (probe) this.driver.probe();
  }

  /** Stops every timer (the scheduler too if the system made it). */
  dispose(): void {
    this.hypervisor.dispose();
    this.link.clear();
    if (this.ownsScheduler && this.scheduler instanceof RealScheduler) this.scheduler.dispose();
  }
}
