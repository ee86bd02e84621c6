/**
 * One set of fake options, split the way the real driver needs it: the
 * hypervisor's behaviour goes to the fake hypervisor behind QEMU, the module
 * parameters to insmod. Every value is given (defaults filled in), so that a
 * scenario never inherits what the one before it configured.
 */
import {
  resolveOptions,
  type FakeDeviceOptions,
  type QemuHypervisorOptions,
} from '../../lib/fake/index';
import type { ModuleParameters } from './guest';

/** The hypervisor's options and the module parameters of `options`, defaults filled in. */
export function splitOptions(options: FakeDeviceOptions): {
  readonly hypervisor: QemuHypervisorOptions;
  readonly module: ModuleParameters;
} {
  const o = resolveOptions(options);
  return {
    hypervisor: {
      mtu: o.mtu,
      poolSize: o.poolSize,
      slots: o.slots,
      protocolVersion: o.protocolVersion,
      startup: o.startup,
      reinitializeAfterMs: o.reinitializeAfterMs,
      buffers: o.buffers,
      openAnswer: o.openAnswer,
      closeAnswer: o.closeAnswer,
      requestVmc: o.requestVmc,
    },
    module: { maxMtu: o.maxMtu, bufPoolSize: o.bufPoolSize, maxHmcs: o.maxHmcs },
  };
}

/** Every hypervisor option at its default. */
export function hypervisorDefaults(): QemuHypervisorOptions {
  return splitOptions({}).hypervisor;
}
