/**
 * Linux errno numbers, as the driver returns them and as the wire protocol
 * carries them. Written down rather than taken from `os.constants.errno`: the
 * fake speaks for a Linux driver whatever host runs it, and `EBADFD` is not in
 * Node's table on every platform. x86_64 and ppc64le share these values.
 */
export const ERRNO = {
  /** Operation not permitted. */
  EPERM: 1,
  /** No such file or directory. */
  ENOENT: 2,
  /** Interrupted system call. */
  EINTR: 4,
  /** Input/output error. */
  EIO: 5,
  /** No such device or address. */
  ENXIO: 6,
  /** Bad file descriptor. */
  EBADF: 9,
  /** Try again (resource temporarily unavailable). */
  EAGAIN: 11,
  /** Out of memory. */
  ENOMEM: 12,
  /** Permission denied. */
  EACCES: 13,
  /** Bad address. */
  EFAULT: 14,
  /** Device or resource busy. */
  EBUSY: 16,
  /** No such device. */
  ENODEV: 19,
  /** Invalid argument. */
  EINVAL: 22,
  /** File descriptor in bad state. */
  EBADFD: 77,
  /** No buffer space available. */
  ENOBUFS: 105,
} as const;

/** Name of one of the {@link ERRNO} values. */
export type ErrnoName = keyof typeof ERRNO;

const names: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name], name]),
);

/**
 * Names a call's result for people: `EBUSY` for -16, the number itself for
 * a return value (zero or positive) or an errno this table does not know.
 *
 * @param result - A call's result: a return value, or minus an errno.
 */
export function describeResult(result: number): string {
  if (result >= 0) return String(result);
  return names.get(-result) ?? String(result);
}
