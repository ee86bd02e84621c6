/**
 * Linux errno numbers, as the driver returns them and as the wire protocol
 * carries them. Written down rather than taken from `os.constants.errno`: the
 * fake speaks for a Linux driver whatever host runs it, and `EBADFD` is not in
 * Node's table on every platform. x86_64 and ppc64le share these values.
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EBADFD: 77,
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
