import { binding, type NativeConstants } from './binding';

/**
 * The ioctl numbers and errno values the native binding was compiled with,
 * from the target's own headers (they differ between x86_64 and POWER).
 */
export function nativeConstants(): NativeConstants {
  return binding().constants;
}
