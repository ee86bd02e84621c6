/*
 * Portable glibc symbol versions for the prebuilt shim.
 *
 * The prebuilds are compiled on Debian 12 (glibc 2.36) but must load on glibc
 * 2.17 (RHEL 7, and the first glibc for ppc64le). Newer glibc gave a few of the
 * functions we call new symbol versions: pthread_* and dlsym moved into libc
 * in 2.34, pthread_sigmask in 2.32, and stat became an exported function in
 * 2.33 (before, an inline wrapper around __xstat). A binary linked against
 * them asks for those versions and does not load on older systems.
 *
 * With IBMVMC_PORTABLE_GLIBC (set by binding.gyp when the variable
 * ibmvmc_portable_glibc is true, as scripts/prebuildify.sh does), references
 * bind to the oldest version every glibc of the architecture has, the link
 * names libdl.so.2 and libpthread.so.0 (where those functions live before
 * 2.34), and stat is the newfstatat system call, which is all glibc's stat is
 * on these 64-bit architectures (the kernel's struct stat is glibc's).
 * Without it (a build from source on the target), this header changes nothing.
 */
#ifndef IBMVMC_GLIBC_COMPAT_H
#define IBMVMC_GLIBC_COMPAT_H

#include <fcntl.h>
#include <sys/stat.h>

#ifdef IBMVMC_PORTABLE_GLIBC
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define IBMVMC_GLIBC_BASE "GLIBC_2.17"
#elif defined(__x86_64__)
#define IBMVMC_GLIBC_BASE "GLIBC_2.2.5"
#else
#error "IBMVMC_PORTABLE_GLIBC: only x86_64 and ppc64le prebuilds are made"
#endif

#define IBMVMC_OLD_SYMBOL(name) __asm__(".symver " #name "," #name "@" IBMVMC_GLIBC_BASE)
IBMVMC_OLD_SYMBOL(dlsym);
IBMVMC_OLD_SYMBOL(pthread_attr_setstacksize);
IBMVMC_OLD_SYMBOL(pthread_create);
IBMVMC_OLD_SYMBOL(pthread_once);
IBMVMC_OLD_SYMBOL(pthread_sigmask);

static inline int shim_stat(const char *path, struct stat *st) {
  return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}
#else
static inline int shim_stat(const char *path, struct stat *st) { return stat(path, st); }
#endif

#endif /* IBMVMC_GLIBC_COMPAT_H */
