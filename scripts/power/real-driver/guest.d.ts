// Types of guest.js, for the TypeScript suites in test/real-driver/.
import type { InitrdEntry } from './initramfs';
import type { GuestVm } from './vm';

/** What prepare.sh built (its manifest). */
export interface RealDriverInputs {
  readonly vmlinux: string;
  readonly module: string;
  readonly expectedIoctl: string;
  readonly base: string;
  readonly nodeModules: string;
  readonly prebuildSource: string;
  readonly qemu: string;
  readonly contractClient: string;
  readonly benchClient: string;
  readonly randomOps: string;
  readonly cache: string;
}

/** Module parameters, as insmod takes them. */
export interface ModuleParameters {
  readonly maxMtu?: number;
  readonly bufPoolSize?: number;
  readonly maxHmcs?: number;
}

/** What the guest needs of the hypervisor behind its adapter. */
export interface GuestHypervisor {
  readonly qemuArgs: readonly string[];
  reset(options?: { readonly reinitializeAfterMs?: number | null }): void;
  reinitialize(): void;
  waitForDriver(options?: { readonly timeoutMs?: number }): Promise<void>;
}

export class RealDriverGuest<H extends GuestHypervisor = GuestHypervisor> {
  static boot<H extends GuestHypervisor>(options: {
    readonly inputs?: RealDriverInputs;
    readonly hypervisor: H | null;
    readonly files?: readonly InitrdEntry[];
    readonly onConsole?: (line: string) => void;
    readonly append?: string;
  }): Promise<RealDriverGuest<H>>;
  readonly vm: GuestVm;
  readonly hypervisor: H | null;
  readonly inputs: RealDriverInputs;
  loadModule(parameters?: ModuleParameters, settle?: boolean): Promise<void>;
  unloadModule(): Promise<void>;
  dmesg(clear?: boolean): Promise<string>;
  stop(keepConsoleAs?: string): Promise<void>;
}

export function readInputs(file?: string): RealDriverInputs;
