/**
 * ibmvmc: async HMC sessions over the IBM POWER Virtual Management Channel.
 *
 * @packageDocumentation
 * @module ibmvmc
 */
export { open, HmcSession } from './session/session';
export type {
  SessionOptions,
  CallOptions,
  SessionState,
  HmcSessionEvents,
} from './session/session';
export { encodeHmcId, HMC_ID_LENGTH } from './session/hmc-id';
export { VmcDevice, DEFAULT_DEVICE_PATH } from './device/device';
export type { DriverStatus } from './device/device';
export { DriverState, driverStateName, describeDriverState } from './device/driver-state';
export type { DriverStateName } from './device/driver-state';
export { readModuleParameters, resolveSysfsRoot } from './device/module-parameters';
export type { ModuleParameters } from './device/module-parameters';
export * from './errors/index';
export * from './protocol/index';
export * from './client/index';
export { nativeConstants } from './native/constants';
export { peerCredentials } from './native/peer-credentials';
export type { PeerCredentials } from './native/peer-credentials';
export type { NativeConstants } from './native/binding';
