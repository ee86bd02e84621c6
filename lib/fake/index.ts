/**
 * `ibmvmc/fake`: a driver-faithful fake of `/dev/ibmvmc` for tests and CI.
 *
 * `startFakeDevice()` runs one in a child process or a worker and gives its
 * environment (`LD_PRELOAD` of the shim, the socket, the sysfs root, the
 * attach socket) for the processes under test; `attachFakeDevice()` drives
 * the controls of a fake another process started (a Jest `globalSetup`). `FakeDevice` runs one in this thread, for clients that
 * are other processes. `FakeSystem` is the model alone (driver, hypervisor and
 * the queues between them), to drive directly with a `ManualScheduler`.
 * `startQemuHypervisor()` puts the fake hypervisor behind QEMU's `spapr-vmc`
 * device instead, so the real driver in a guest runs against it.
 *
 * @packageDocumentation
 * @module ibmvmc/fake
 */
export { startFakeDevice } from './start';
export type { FakeDeviceEnv, FakeDeviceHandle, FakeRunIn, StartFakeDeviceOptions } from './start';
export type { FakeDeviceControls } from './remote-controls';
export { attachFakeDevice } from './attach/attach';
export type {
  AttachFakeDeviceOptions,
  AttachedFakeDevice,
  AttachedFakeDeviceEnv,
} from './attach/attach';
export { ATTACH_SUFFIX, FAKE_ATTACH_ENV, attachPathFor } from './attach/names';
export { FakeDevice } from './fake-device';
export { FakeServer } from './server';
export type { FakeServerOptions } from './server';
export type { FakeDeviceStartOptions, FakeResetOptions } from './fake-device';
export type { FakeDeviceState, FakeSlotSnapshot } from './snapshots';
export {
  DEFAULT_OPTIONS,
  MODULE_PARAMETER_LIMITS,
  clampModuleParameter,
  resolveOptions,
} from './options';
export type {
  AnswerOptions,
  BufferOptions,
  BufferOwnerName,
  FakeDeviceOptions,
  OpenFault,
  RequestVmcFailure,
  RequestVmcOptions,
  ResolvedOptions,
  StartupOptions,
} from './options';
export type { FakeHandlerAnswer, FakeMessageHandler, FakeSessionInfo } from './handler';
export { routerHandler } from './router-handler';
export { FakeDeviceError } from './errors';
export { DEFAULT_LOG_LIMIT, FakeLog, formatLogEntry } from './log';
export type {
  FakeCallEntry,
  FakeCallName,
  FakeCrqEntry,
  FakeLogEntry,
  FakeMessageEntry,
  FakeNoteEntry,
  FakeStateEntry,
} from './log';
export { FakeSystem } from './system';
export type { FakeSystemDeps } from './system';
export { HypervisorSide } from './hypervisor-side';
export {
  BUFFER_ADDRESS_STRIDE,
  BUFFER_WINDOW_SIZE,
  SLOT_ADDRESS_STRIDE,
  bufferAddress,
  locateBufferAddress,
} from './buffer-address';
export type { BufferLocation } from './buffer-address';
export { startQemuHypervisor } from './qemu/start';
export type {
  QemuHypervisorHandle,
  QemuHypervisorState,
  QemuSlotSnapshot,
  StartQemuHypervisorOptions,
  WaitForDriverOptions,
} from './qemu/start';
export { DRIVER_ONLY_OPTIONS, insmodArguments, resolveQemuOptions } from './qemu/options';
export type { DriverOnlyOption, QemuHypervisorOptions } from './qemu/options';
export { QemuBridge } from './qemu/bridge';
export type { QemuAdapterInfo, SendFrame } from './qemu/bridge';
export { QemuBridgeServer } from './qemu/server';
export type { QemuBridgeServerOptions } from './qemu/server';
export {
  QEMU_BRIDGE_VERSION,
  QEMU_FRAME_HEADER_LENGTH,
  QEMU_FRAME_MAX_PAYLOAD,
  QEMU_FRAME_TYPE,
  QEMU_PROTOCOL_ERROR,
  QemuFrameDecoder,
  QemuProtocolError,
  decodeHypervisorFrame,
  decodeQemuFrame,
  encodeHypervisorFrame,
  encodeQemuFrame,
} from './qemu/frames';
export type {
  CrqFrame,
  HypervisorFrame,
  HypervisorHelloFrame,
  NoteFrame,
  QemuFrame,
  QemuHelloFrame,
  RequestVmcAnswerFrame,
  RequestVmcFrame,
  ResetFrame,
  WindowBytesFrame,
} from './qemu/frames';
export { REQUEST_VMC_RETURN_CODE } from './hypervisor-port';
export type {
  HypervisorPort,
  RequestVmcHcallResult,
  RequestVmcReturnCode,
} from './hypervisor-port';
export { FakeDriver, DRIVER_STATE, DRIVER_STATE_NAMES } from './driver';
export type {
  DriverListener,
  DriverState,
  FakeDriverDeps,
  QueryResult,
  RequestVmcResult,
} from './driver';
export { FakeHypervisor } from './hypervisor';
export type {
  FakeHypervisorDeps,
  HypervisorSessionState,
  HypervisorSlotSnapshot,
  NegotiatedCapabilities,
} from './hypervisor';
export { FakeFile } from './fake-file';
export { HMC_ID_LENGTH, MAX_BUF_POOL_SIZE, MAX_HMCS, SLOT_STATE } from './driver-slot';
export type { SlotState } from './driver-slot';
export { ManualScheduler, RealScheduler } from './scheduler';
export type { Cancel, Scheduler } from './scheduler';
export {
  BUFFER_OWNER,
  CRQ_INIT_TYPE,
  CRQ_STATUS,
  CRQ_TYPE,
  CRQ_VALID,
  VMC_PROTOCOL_VERSION,
  decodeCrq,
  describeCrq,
  encodeCrq,
} from './crq';
export type {
  CrqCapabilitiesMessage,
  CrqHmcMessage,
  CrqInitMessage,
  CrqMessage,
  CrqTransportEvent,
} from './crq';
export type { CrqEndpoint, CrqLink, HypervisorEndpoint } from './crq-link';
export type { DriverSlot, DriverBuffer } from './driver-slot';
export type { PayloadLengthReader } from '../protocol/frame-reader';
export { ERRNO, describeResult } from './errno';
export type { ErrnoName } from './errno';
export {
  WIRE_DATA_SUFFIX,
  WIRE_ENV_DEVICE,
  WIRE_ENV_SOCKET,
  WIRE_OP,
  WIRE_WRITE_DATA,
  FrameReader,
} from './wire';
export { findPreloadPath, preloadCandidates, PRELOAD_FILE_NAME } from './preload-path';
export { MODULE_PARAMETER_NAMES, sysfsParametersDir, writeSysfs } from './sysfs';
export type { ModuleParameters } from './sysfs';
