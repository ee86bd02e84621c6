export { IbmvmcError } from './ibmvmc-error';
export * from './error-classes';
export { fromSystemError, isSystemError } from './from-system-error';
export type { SystemErrorLike } from './from-system-error';
