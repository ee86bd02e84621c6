/**
 * The hypervisor's half of the fake machine: the fake hypervisor on its side
 * of a CRQ link, with the scheduler, the log and the options it runs on. The
 * fake driver attaches to the driver's side of the link in {@link FakeSystem};
 * the QEMU bridge does in its stead, for the real driver in a guest.
 */
import { CrqLink } from './crq-link';
import { FakeHypervisor } from './hypervisor';
import { FakeLog } from './log';
import type { ResolvedOptions } from './options';
import { RealScheduler, type Scheduler } from './scheduler';

/** What a system can be built with besides its options. */
export interface FakeSystemDeps {
  /** Defaults to a {@link RealScheduler}, disposed with the system. */
  readonly scheduler?: Scheduler;
}

/** A fake hypervisor with its link, log and scheduler; the driver's side of the link is free. */
export class HypervisorSide {
  /** Runs the deferred steps. */
  readonly scheduler: Scheduler;
  /** The fake's log. */
  readonly log: FakeLog;
  /** The CRQ; the hypervisor holds one end, the driver's end is free. */
  readonly link: CrqLink;
  /** The fake hypervisor. */
  readonly hypervisor: FakeHypervisor;
  private optionsValue: ResolvedOptions;
  private readonly ownsScheduler: boolean;

  /**
   * @param options - Checked already (by `resolveOptions` at the public entry).
   * @param deps - The scheduler to run on, if not a new one.
   */
  constructor(options: ResolvedOptions, deps: FakeSystemDeps = {}) {
    this.optionsValue = options;
    this.ownsScheduler = deps.scheduler === undefined;
    this.scheduler = deps.scheduler ?? new RealScheduler();
    this.log = new FakeLog(options.log, options.logChannel, options.trace);
    this.link = new CrqLink(this.scheduler, this.log);
    this.hypervisor = new FakeHypervisor({
      scheduler: this.scheduler,
      link: this.link,
      log: this.log,
      options: () => this.optionsValue,
    });
  }

  /** The options in force (what the hypervisor reads at each use). */
  get options(): ResolvedOptions {
    return this.optionsValue;
  }

  /**
   * Puts new options in force: the hypervisor's behaviour changes with the
   * next event, the log's limit and tracing at once.
   *
   * @param options - Checked already, merged over {@link HypervisorSide.options | the options in force}.
   */
  applyOptions(options: ResolvedOptions): void {
    this.optionsValue = options;
    this.log.configure(options.log, options.logChannel, options.trace);
  }

  /** Stops every timer (the scheduler too if this made it). */
  dispose(): void {
    this.hypervisor.dispose();
    this.link.clear();
    if (this.ownsScheduler && this.scheduler instanceof RealScheduler) this.scheduler.dispose();
  }
}
