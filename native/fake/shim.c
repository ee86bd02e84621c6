/*
 * LD_PRELOAD shim: makes a process's /dev/ibmvmc a fake device.
 *
 * open() of the device path returns one end of a connected Unix socket into
 * which the fake driver writes the messages queued for that fd, so poll,
 * select, epoll and libuv see real readiness. ioctl, read, write and close on
 * that fd become requests to the fake driver (docs/fake-wire-protocol.md),
 * which answers them errno for errno as the real driver does. Every other fd
 * takes one table load and goes straight to libc.
 */
#define _GNU_SOURCE
/* We define open and open64 both, so the headers must not alias one to the other. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "glibc_compat.h"
#include "ibmvmc_abi.h"
#include "wire.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the fake wire protocol is little-endian; port the framing first"
#endif

#define EXPORT __attribute__((visibility("default")))
#define MAX_FDS 65536
#define SCRATCH_LEN (WIRE_MAX_INLINE_WRITE + sizeof(struct wire_request))

/* ---- the real libc functions ---------------------------------------------- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef int (*close_fn)(int);

static struct {
  open_fn open, open64;
  openat_fn openat, openat64;
  read_fn read;
  write_fn write;
  ioctl_fn ioctl;
  close_fn close;
} real;

static void *next_symbol(const char *name) {
  void *fn = dlsym(RTLD_NEXT, name);
  if (fn == NULL) abort(); /* no libc below us: nothing can work */
  return fn;
}

/* Resolved on first use, not in a constructor: other libraries' constructors
 * may call read or close before ours has run. Racing threads store the same
 * pointer, so a relaxed atomic store is enough. */
#define REAL(name)                               \
  (__atomic_load_n(&real.name, __ATOMIC_RELAXED) \
       ? real.name                               \
       : (__atomic_store_n(&real.name, next_symbol(#name), __ATOMIC_RELAXED), real.name))

/* ---- per-fd state ------------------------------------------------------------ */

struct fake_fd {
  int data_fd;  /* the fd the application holds */
  int ctl_fd;   /* request/reply with the fake driver */
  int event_fd; /* one byte arrives when the session is reset */
  uint32_t generation;
  uint8_t token[WIRE_TOKEN_LEN];
  pthread_mutex_t lock; /* one request at a time; a frame is consumed whole */
  atomic_int refs;
  unsigned char *scratch;
  char *socket_path; /* for the short-lived REQUESTVMC connections */
  /* Blocking reads up to this many bytes may wait for a frame without asking
   * the fake first (see fake_read); 0 until the fake has answered such a read
   * with a message or EAGAIN, and after it answers one with an error. */
  size_t wait_locally_upto;
};

static _Atomic(struct fake_fd *) *table; /* indexed by data_fd */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t next_generation;

static struct fake_fd *acquire(int fd) {
  _Atomic(struct fake_fd *) *t = atomic_load_explicit(&table, memory_order_acquire);
  if (t == NULL || fd < 0 || fd >= MAX_FDS) return NULL;
  if (atomic_load_explicit(&t[fd], memory_order_relaxed) == NULL) return NULL;
  pthread_mutex_lock(&table_lock);
  struct fake_fd *e = atomic_load_explicit(&t[fd], memory_order_relaxed);
  if (e != NULL) atomic_fetch_add(&e->refs, 1);
  pthread_mutex_unlock(&table_lock);
  return e;
}

static void release(struct fake_fd *e) {
  if (atomic_fetch_sub(&e->refs, 1) != 1) return;
  pthread_mutex_destroy(&e->lock);
  free(e->socket_path);
  free(e->scratch);
  free(e);
}

static int install(struct fake_fd *e) {
  pthread_mutex_lock(&table_lock);
  if (table == NULL) {
    _Atomic(struct fake_fd *) *t = calloc(MAX_FDS, sizeof(*t));
    if (t == NULL) {
      pthread_mutex_unlock(&table_lock);
      return -ENOMEM;
    }
    atomic_store_explicit(&table, t, memory_order_release);
  }
  e->generation = ++next_generation;
  atomic_store_explicit(&table[e->data_fd], e, memory_order_release);
  pthread_mutex_unlock(&table_lock);
  return 0;
}

static struct fake_fd *uninstall(int fd) {
  _Atomic(struct fake_fd *) *t = atomic_load_explicit(&table, memory_order_acquire);
  if (t == NULL || fd < 0 || fd >= MAX_FDS) return NULL;
  if (atomic_load_explicit(&t[fd], memory_order_relaxed) == NULL) return NULL;
  pthread_mutex_lock(&table_lock);
  struct fake_fd *e = atomic_exchange(&t[fd], NULL);
  pthread_mutex_unlock(&table_lock);
  return e; /* the table's reference passes to the caller */
}

/* ---- socket helpers ----------------------------------------------------------- */

static int connect_unix(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path)) return -ENAMETOOLONG;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    if (errno == EINTR) continue;
    int err = errno;
    REAL(close)(fd);
    return -err;
  }
  return fd;
}

static int send_all(int fd, const struct iovec *iov_in, int iovcnt) {
  struct iovec iov[4];
  memcpy(iov, iov_in, sizeof(*iov) * (size_t)iovcnt);
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
  while (msg.msg_iovlen > 0) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, -1);
        continue;
      }
      return -1;
    }
    while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov->iov_len) {
      n -= (ssize_t)msg.msg_iov->iov_len;
      msg.msg_iov++;
      msg.msg_iovlen--;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov->iov_base = (char *)msg.msg_iov->iov_base + n;
      msg.msg_iov->iov_len -= (size_t)n;
    }
  }
  return 0;
}

/* Reads exactly len bytes whatever the fd's O_NONBLOCK; buf NULL discards.
 * Returns 0, -1 with errno set, or -2 when buf faulted (the bytes were still
 * consumed into discard so the stream stays in step). */
static int recv_exact(int fd, void *buf, size_t len, unsigned char *discard) {
  int faulted = 0;
  while (len > 0) {
    void *dst = (buf == NULL || faulted) ? discard : buf;
    size_t want = (dst == discard && len > SCRATCH_LEN) ? SCRATCH_LEN : len;
    ssize_t n = recv(fd, dst, want, 0);
    if (n > 0) {
      len -= (size_t)n;
      if (dst == buf) buf = (char *)buf + n;
      continue;
    }
    if (n == 0) {
      errno = EIO; /* the fake went away */
      return -1;
    }
    if (errno == EINTR) continue;
    if (errno == EFAULT && dst == buf) {
      faulted = 1;
      continue;
    }
    if (errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, -1);
      continue;
    }
    return -1;
  }
  return faulted ? -2 : 0;
}

/* One request, one reply. Any transport failure means the fake is gone: EIO. */
static int rpc(int sock, uint32_t op, uint32_t arg0, uint32_t arg1, const void *payload,
               uint32_t payload_len, void *reply, uint32_t reply_cap, uint32_t *reply_len,
               int32_t *result, unsigned char *discard) {
  struct wire_request req = {payload_len, op, arg0, arg1};
  struct iovec iov[2] = {{&req, sizeof(req)}, {(void *)payload, payload_len}};
  if (send_all(sock, iov, payload_len ? 2 : 1) < 0) return -EIO;
  struct wire_reply rep;
  if (recv_exact(sock, &rep, sizeof(rep), discard) != 0) return -EIO;
  uint32_t keep = rep.payload_len < reply_cap ? rep.payload_len : reply_cap;
  if (keep && recv_exact(sock, reply, keep, discard) != 0) return -EIO;
  if (rep.payload_len > keep && recv_exact(sock, NULL, rep.payload_len - keep, discard) != 0)
    return -EIO;
  if (reply_len) *reply_len = rep.payload_len;
  *result = rep.result;
  return 0;
}

static int result_to_return(int32_t result) {
  if (result >= 0) return result;
  errno = -result;
  return -1;
}

/* A system call that succeeds leaves errno as it was (the kernel only sets it
 * on failure), and programs may print or test errno after one. The shim's own
 * calls on the way set it freely: filling the data socket until EAGAIN,
 * peeking for a frame or the reset byte (EAGAIN), the real open of the fake's
 * socket (ENXIO). So every exported function saves errno on entry and returns
 * only through here, the work done in a function it calls (the _FORTIFY_SOURCE
 * ones call those exported functions): no return path in there, now or after
 * an edit, can leak the shim's errno. */
static long errno_kept_on_success(long result, int saved_errno) {
  if (result >= 0) errno = saved_errno;
  return result;
}

/* ---- user memory, checked as the kernel would ------------------------------- */

/* Where process_vm_readv/writev are refused (seccomp: EPERM; qemu-user: ENOSYS),
 * the copy goes through a pipe: write() reads the source and read() fills the
 * destination in the kernel, each failing with EFAULT where the driver's copy
 * would. Only if no pipe can be made is the pointer trusted. */
static int copy_through_pipe(void *dst, const void *src, size_t len) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    memcpy(dst, src, len);
    return 0;
  }
  int result = 0;
  for (size_t done = 0; done < len;) {
    ssize_t in = REAL(write)(p[1], (const char *)src + done, len - done);
    ssize_t out = in > 0 ? REAL(read)(p[0], (char *)dst + done, (size_t)in) : -1;
    if (in <= 0 || out != in) {
      result = -EFAULT;
      break;
    }
    done += (size_t)in;
  }
  REAL(close)(p[0]);
  REAL(close)(p[1]);
  return result;
}

static int copy_from_user(void *dst, const void *src, size_t len) {
  struct iovec local = {dst, len}, remote = {(void *)src, len};
  ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (n == (ssize_t)len) return 0;
  if (n < 0 && (errno == ENOSYS || errno == EPERM)) return copy_through_pipe(dst, src, len);
  return -EFAULT;
}

static int copy_to_user(void *dst, const void *src, size_t len) {
  struct iovec local = {(void *)src, len}, remote = {dst, len};
  ssize_t n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  if (n == (ssize_t)len) {
    /* The kernel proved the range writable; writing it again from here lets
     * memory checkers see it written, as valgrind does for a real _IOR ioctl
     * (process_vm_writev to ourselves leaves it "uninitialised" to them). */
    memcpy(dst, src, len);
    return 0;
  }
  if (n < 0 && (errno == ENOSYS || errno == EPERM)) return copy_through_pipe(dst, src, len);
  return -EFAULT;
}

/* ---- reset watcher ------------------------------------------------------------
 * The real driver empties a session's queue on reset, so its fd stops being
 * readable at once. Messages the fake already wrote into the data socket
 * would keep it readable; one thread per process drains them when the reset
 * byte arrives. It leaves that byte unread so blocked readers see it too. */

static pthread_once_t watcher_once = PTHREAD_ONCE_INIT;
static int watcher_epoll = -1;

static void drain_data(struct fake_fd *e) {
  while (recv(e->data_fd, e->scratch, SCRATCH_LEN, MSG_DONTWAIT) > 0) {
  }
}

static void *watch_resets(void *unused) {
  (void)unused;
  struct epoll_event events[16];
  for (;;) {
    int n = epoll_wait(watcher_epoll, events, 16, -1);
    for (int i = 0; i < n; i++) {
      int fd = (int)(events[i].data.u64 & 0xffffffffu);
      uint32_t generation = (uint32_t)(events[i].data.u64 >> 32);
      struct fake_fd *e = acquire(fd);
      if (e == NULL) continue;
      if (e->generation == generation) {
        pthread_mutex_lock(&e->lock);
        drain_data(e);
        pthread_mutex_unlock(&e->lock);
      }
      release(e);
    }
  }
  return NULL;
}

static void start_watcher(void) {
  watcher_epoll = epoll_create1(EPOLL_CLOEXEC);
  if (watcher_epoll < 0) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the application's threads */
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  if (pthread_create(&thread, &attr, watch_resets, NULL) != 0) {
    REAL(close)(watcher_epoll);
    watcher_epoll = -1;
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void watch_for_reset(struct fake_fd *e) {
  pthread_once(&watcher_once, start_watcher);
  if (watcher_epoll < 0) return; /* reads still drain after EBADFD */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
                           .data.u64 = ((uint64_t)e->generation << 32) | (uint32_t)e->data_fd};
  epoll_ctl(watcher_epoll, EPOLL_CTL_ADD, e->event_fd, &ev);
}

static void after_fork_in_child(void) {
  /* The watcher thread did not come along; a new one starts on next open. */
  watcher_once = (pthread_once_t)PTHREAD_ONCE_INIT;
  watcher_epoll = -1;
}

__attribute__((constructor)) static void init_shim(void) {
  pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* ---- open ------------------------------------------------------------------------ */

static const char *intercepted_path(void) {
  const char *socket_path = getenv(WIRE_ENV_SOCKET);
  if (socket_path == NULL || socket_path[0] == '\0') return NULL;
  const char *device = getenv(WIRE_ENV_DEVICE);
  return (device != NULL && device[0] != '\0') ? device : IBMVMC_DEVICE_PATH;
}

static int is_device(const char *path) {
  const char *device = path ? intercepted_path() : NULL;
  return device != NULL && strcmp(path, device) == 0;
}

static void destroy_sockets(struct fake_fd *e) {
  if (e->event_fd >= 0) REAL(close)(e->event_fd);
  if (e->ctl_fd >= 0) REAL(close)(e->ctl_fd);
  if (e->data_fd >= 0) REAL(close)(e->data_fd);
  e->event_fd = e->ctl_fd = e->data_fd = -1;
}

/* The app end must never report POLLOUT (the device never does): fill its
 * send buffer once; the fake never reads that connection. */
static void block_writability(int fd) {
  int smallest = 1;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &smallest, sizeof(smallest));
  static const char filler[256];
  for (int i = 0; i < 10000; i++) {
    if (send(fd, filler, sizeof(filler), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) break;
  }
}

/* The fake's socket itself can be opened as the device: a process whose
 * environment cannot be changed (a test runner's worker) names it directly.
 * Opening a socket fails with ENXIO, so other opens pay nothing for this. */
static int is_fake_socket(const char *path) {
  struct stat st;
  char data_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
  if (shim_stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  if (snprintf(data_path, sizeof(data_path), "%s%s", path, WIRE_DATA_SUFFIX) >=
      (int)sizeof(data_path))
    return 0;
  return shim_stat(data_path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int fake_open(const char *socket_path, int flags) {
  char data_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
  if (snprintf(data_path, sizeof(data_path), "%s%s", socket_path, WIRE_DATA_SUFFIX) >=
      (int)sizeof(data_path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  struct fake_fd *e = calloc(1, sizeof(*e));
  unsigned char *scratch = malloc(SCRATCH_LEN);
  if (e == NULL || scratch == NULL) {
    free(e);
    free(scratch);
    errno = ENOMEM;
    return -1;
  }
  e->scratch = scratch;
  e->socket_path = strdup(socket_path);
  e->ctl_fd = e->event_fd = -1;
  atomic_init(&e->refs, 1);
  pthread_mutex_init(&e->lock, NULL);

  int err = 0;
  int32_t result = 0;
  /* No fake listening looks like a device node with no driver behind it. */
  e->data_fd = connect_unix(data_path);
  if (e->data_fd < 0) {
    err = ENXIO;
    goto fail;
  }
  if (recv_exact(e->data_fd, e->token, sizeof(e->token), scratch) != 0) {
    err = ENXIO;
    goto fail;
  }
  block_writability(e->data_fd);
  if (e->data_fd >= MAX_FDS) {
    err = EMFILE;
    goto fail;
  }
  e->ctl_fd = connect_unix(socket_path);
  if (e->ctl_fd < 0) {
    err = ENXIO;
    goto fail;
  }
  if (rpc(e->ctl_fd, WIRE_OP_OPEN, (uint32_t)flags, (uint32_t)getpid(), e->token, sizeof(e->token),
          NULL, 0, NULL, &result, scratch) != 0) {
    err = ENXIO;
    goto fail;
  }
  if (result < 0) {
    err = -result;
    goto fail;
  }
  e->event_fd = connect_unix(socket_path);
  struct wire_request events = {sizeof(e->token), WIRE_OP_EVENTS, 0, 0};
  struct iovec iov[2] = {{&events, sizeof(events)}, {e->token, sizeof(e->token)}};
  if (e->event_fd < 0 || send_all(e->event_fd, iov, 2) < 0) {
    err = EIO;
    goto fail;
  }
  int fl = fcntl(e->data_fd, F_GETFL);
  fcntl(e->data_fd, F_SETFL, (flags & O_NONBLOCK) ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
  if (!(flags & O_CLOEXEC)) fcntl(e->data_fd, F_SETFD, 0);
  if ((err = -install(e)) != 0) goto fail;
  watch_for_reset(e);
  return e->data_fd;

fail:
  destroy_sockets(e);
  release(e);
  errno = err;
  return -1;
}

static int opened_or_fake(int fd, const char *path, int flags) {
  if (fd >= 0 || errno != ENXIO || path == NULL) return fd;
  int saved = errno;
  if (is_fake_socket(path)) return fake_open(path, flags);
  errno = saved;
  return fd;
}

/* open, open64, openat and openat64 differ only in the call they pass on. */
#define OPEN_WRAPPER(name, real_call, ...)                               \
  EXPORT int name(__VA_ARGS__, int flags, ...) {                         \
    int saved_errno = errno;                                             \
    va_list ap;                                                          \
    va_start(ap, flags);                                                 \
    mode_t mode = va_arg(ap, mode_t);                                    \
    va_end(ap);                                                          \
    int fd = is_device(path) ? fake_open(getenv(WIRE_ENV_SOCKET), flags) \
                             : opened_or_fake(real_call, path, flags);   \
    return (int)errno_kept_on_success(fd, saved_errno);                  \
  }

OPEN_WRAPPER(open, REAL(open)(path, flags, mode), const char *path)
OPEN_WRAPPER(open64, REAL(open64)(path, flags, mode), const char *path)
OPEN_WRAPPER(openat, REAL(openat)(dirfd, path, flags, mode), int dirfd, const char *path)
OPEN_WRAPPER(openat64, REAL(openat64)(dirfd, path, flags, mode), int dirfd, const char *path)

/* _FORTIFY_SOURCE turns open() without O_CREAT into these. */
EXPORT int __open_2(const char *path, int flags) { return open(path, flags); }
EXPORT int __open64_2(const char *path, int flags) { return open64(path, flags); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return openat(dirfd, path, flags); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  return openat64(dirfd, path, flags);
}

/* ---- read / write ---------------------------------------------------------------- */

static uint32_t saturate(size_t n) { return n > 0xffffffffu ? 0xffffffffu : (uint32_t)n; }

/* Consumes the data frame at the head of the data connection, copying at
 * most n bytes of its message (bytes past n are lost, as in the driver).
 * Returns the bytes copied, or -1 with errno set. */
static ssize_t take_frame(struct fake_fd *e, void *buf, size_t n) {
  struct wire_data_header header;
  if (recv_exact(e->data_fd, &header, sizeof(header), e->scratch) != 0) return -1;
  uint32_t copy = n < header.length ? (uint32_t)n : header.length;
  int rc = recv_exact(e->data_fd, buf, copy, e->scratch);
  if (rc != -1 && header.length > copy)
    rc = recv_exact(e->data_fd, NULL, header.length - copy, e->scratch) == 0 ? rc : -1;
  if (rc == -2) errno = EFAULT;
  return rc == 0 ? (ssize_t)copy : -1;
}

#define ASK_THE_FAKE (-2)
#define NOTHING_HERE (-3) /* neither a frame nor the reset byte has come */

/* Sleeps until a frame or the reset byte arrives: -1 with EINTR on a signal. */
static int wait_for_frame_or_reset(struct fake_fd *e) {
  struct pollfd p[2] = {{.fd = e->data_fd, .events = POLLIN},
                        {.fd = e->event_fd, .events = POLLIN}};
  return poll(p, 2, -1) < 0 && errno == EINTR ? -1 : 0;
}

/* A read without a round trip to the fake: when the next frame is already
 * here, the fake allowed it (its local read limit) and no reset byte has
 * come, the fake's READ would take that very message. The shim copies it and
 * tells the fake at once (READ_TAKEN, no reply) on the control connection,
 * so every later call of this fd finds the fake up to date. Called with the
 * lock held; NOTHING_HERE when there is no frame and no reset byte,
 * ASK_THE_FAKE when any other condition fails. */
static ssize_t read_locally(struct fake_fd *e, void *buf, size_t n) {
  unsigned char reset_byte;
  if (n == 0 || recv(e->event_fd, &reset_byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN)
    return ASK_THE_FAKE;
  struct wire_data_header header;
  ssize_t peeked = recv(e->data_fd, &header, sizeof(header), MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && errno == EAGAIN) return NOTHING_HERE;
  if (peeked != sizeof(header) || n > header.local_read_limit) return ASK_THE_FAKE;
  ssize_t copied = take_frame(e, buf, n);
  int err = errno;
  if (copied < 0 && err != EFAULT) return -1; /* EIO: the fake went away */
  /* Told even when the buffer faulted: the message is consumed, as in the
   * driver. Told now, not with the next request: the fake then wakes while
   * the application works on the message and is still awake when that
   * request comes (measured: deferring made round trips 12-24% slower). */
  struct wire_request taken = {0, WIRE_OP_READ_TAKEN, saturate(n), 0};
  struct iovec iov = {&taken, sizeof(taken)};
  if (send_all(e->ctl_fd, &iov, 1) < 0) {
    errno = EIO;
    return -1;
  }
  errno = err;
  return copied;
}

/* A blocking read waits for a frame or the reset byte (its own sleep, as on
 * the driver's wait queue), asking the fake only when it must. Once the fake
 * has answered such a read of up to n bytes with a message or EAGAIN, its
 * answer can only change with a frame (a message) or the reset byte (the
 * session gone, the MTU renegotiated), so later reads of up to n bytes that
 * find neither wait for one locally. Asking each time costs a round trip to
 * the fake, which has usually gone to sleep (measured: the C client's 4 KiB
 * round trips got slower whenever the fake answered writes sooner). */
static ssize_t fake_read(struct fake_fd *e, void *buf, size_t n) {
  for (;;) {
    pthread_mutex_lock(&e->lock);
    ssize_t local = read_locally(e, buf, n);
    if (local != ASK_THE_FAKE && local != NOTHING_HERE) {
      pthread_mutex_unlock(&e->lock);
      return local;
    }
    int nonblocking = (fcntl(e->data_fd, F_GETFL) & O_NONBLOCK) != 0;
    if (local == NOTHING_HERE && !nonblocking && n <= e->wait_locally_upto) {
      pthread_mutex_unlock(&e->lock);
      if (wait_for_frame_or_reset(e) < 0) return -1;
      continue;
    }
    int32_t result;
    uint32_t message_len = 0, reply_len = 0;
    if (rpc(e->ctl_fd, WIRE_OP_READ, saturate(n), (uint32_t)nonblocking, NULL, 0, &message_len,
            sizeof(message_len), &reply_len, &result, e->scratch) != 0) {
      pthread_mutex_unlock(&e->lock);
      errno = EIO;
      return -1;
    }
    int message_or_nothing_yet = reply_len == sizeof(message_len) || result == -EAGAIN;
    if (!nonblocking) e->wait_locally_upto = message_or_nothing_yet ? n : 0;
    if (reply_len == sizeof(message_len)) {
      /* One message per read: the frame the fake just took off its queue. */
      ssize_t copied = take_frame(e, buf, (uint32_t)result);
      pthread_mutex_unlock(&e->lock);
      return copied;
    }
    if (result == -EBADFD) drain_data(e); /* in case the watcher could not start */
    pthread_mutex_unlock(&e->lock);
    if (result != -EAGAIN || nonblocking) return result_to_return(result);
    if (wait_for_frame_or_reset(e) < 0) return -1;
  }
}

static ssize_t fake_write(struct fake_fd *e, const void *buf, size_t n) {
  pthread_mutex_lock(&e->lock);
  uint32_t how = WIRE_WRITE_INLINE, payload_len = 0;
  if (n > WIRE_MAX_INLINE_WRITE) {
    how = WIRE_WRITE_TOO_LONG;
  } else if (copy_from_user(e->scratch, buf, n) != 0) {
    how = WIRE_WRITE_UNREADABLE;
  } else {
    payload_len = (uint32_t)n;
  }
  int32_t result;
  int rc = rpc(e->ctl_fd, WIRE_OP_WRITE, saturate(n), how, e->scratch, payload_len, NULL, 0, NULL,
               &result, e->scratch);
  pthread_mutex_unlock(&e->lock);
  if (rc != 0) {
    errno = EIO;
    return -1;
  }
  return result_to_return(result);
}

static ssize_t shim_read(int fd, void *buf, size_t n) {
  struct fake_fd *e = acquire(fd);
  if (e == NULL) return REAL(read)(fd, buf, n);
  ssize_t r = fake_read(e, buf, n);
  int saved = errno;
  release(e);
  errno = saved;
  return r;
}

EXPORT ssize_t read(int fd, void *buf, size_t n) {
  int saved_errno = errno;
  return errno_kept_on_success(shim_read(fd, buf, n), saved_errno);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen) abort(); /* what glibc's __chk_fail does */
  return read(fd, buf, n);
}

static ssize_t shim_write(int fd, const void *buf, size_t n) {
  struct fake_fd *e = acquire(fd);
  if (e == NULL) return REAL(write)(fd, buf, n);
  ssize_t r = fake_write(e, buf, n);
  int saved = errno;
  release(e);
  errno = saved;
  return r;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  int saved_errno = errno;
  return errno_kept_on_success(shim_write(fd, buf, n), saved_errno);
}

/* ---- ioctl ------------------------------------------------------------------------ */

static int simple_rpc(struct fake_fd *e, uint32_t op, uint32_t arg0, uint32_t arg1,
                      const void *payload, uint32_t payload_len, void *reply, uint32_t reply_cap,
                      uint32_t *reply_len, int32_t *result) {
  pthread_mutex_lock(&e->lock);
  int rc = rpc(e->ctl_fd, op, arg0, arg1, payload, payload_len, reply, reply_cap, reply_len, result,
               e->scratch);
  pthread_mutex_unlock(&e->lock);
  return rc;
}

static int fake_sethmcid(struct fake_fd *e, const void *arg) {
  unsigned char id[IBMVMC_HMC_ID_LEN];
  int readable = copy_from_user(id, arg, sizeof(id)) == 0;
  int32_t result;
  if (simple_rpc(e, WIRE_OP_SETHMCID, 0, readable ? 0 : 1, id, readable ? sizeof(id) : 0, NULL, 0,
                 NULL, &result) != 0)
    return -EIO;
  return result;
}

static int fake_query(struct fake_fd *e, void *arg) {
  struct ibmvmc_query_struct q;
  uint32_t len = 0;
  int32_t result;
  if (simple_rpc(e, WIRE_OP_QUERY, 0, 0, NULL, 0, &q, sizeof(q), &len, &result) != 0) return -EIO;
  if (result < 0) return result;
  if (len != sizeof(q)) return -EIO;
  return copy_to_user(arg, &q, sizeof(q));
}

/* The hypervisor call can take long: use a connection of its own so the
 * fd's other calls, from other threads, are not held up behind it. */
static int fake_requestvmc(struct fake_fd *e, void *arg) {
  int sock = e->socket_path ? connect_unix(e->socket_path) : -ENOMEM;
  if (sock < 0) return -EIO;
  unsigned char *discard = malloc(SCRATCH_LEN);
  uint32_t index = 0, len = 0;
  int32_t result;
  int rc = discard == NULL ? -1
                           : rpc(sock, WIRE_OP_REQUESTVMC, 0, 0, e->token, sizeof(e->token), &index,
                                 sizeof(index), &len, &result, discard);
  free(discard);
  REAL(close)(sock);
  if (rc != 0) return -EIO;
  if (result < 0) return result;
  return copy_to_user(arg, &index, sizeof(index));
}

static int fake_ioctl(struct fake_fd *e, unsigned long request, void *arg) {
  switch (request) {
    case IBMVMC_IOCTL_SETHMCID:
      return fake_sethmcid(e, arg);
    case IBMVMC_IOCTL_QUERY:
      return fake_query(e, arg);
    case IBMVMC_IOCTL_REQUESTVMC:
      return fake_requestvmc(e, arg);
    default: {
      int32_t result;
      if (simple_rpc(e, WIRE_OP_IOCTL, (uint32_t)request, 0, NULL, 0, NULL, 0, NULL, &result) != 0)
        return -EIO;
      return result;
    }
  }
}

static int shim_ioctl(int fd, unsigned long request, void *arg) {
  struct fake_fd *e = acquire(fd);
  if (e == NULL) return REAL(ioctl)(fd, request, arg);
  int r;
  switch (request) {
    /* The VFS answers these before any driver sees them. */
    case FIOCLEX:
    case FIONCLEX:
    case FIONBIO:
    case FIOASYNC:
      r = REAL(ioctl)(fd, request, arg);
      break;
    default:
      r = result_to_return(fake_ioctl(e, request, arg));
  }
  int saved = errno;
  release(e);
  errno = saved;
  return r;
}

EXPORT int ioctl(int fd, unsigned long request, ...) {
  int saved_errno = errno;
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return (int)errno_kept_on_success(shim_ioctl(fd, request, arg), saved_errno);
}

/* ---- close ------------------------------------------------------------------------ */

static int shim_close(int fd) {
  struct fake_fd *e = uninstall(fd);
  if (e == NULL) return REAL(close)(fd);
  int32_t result = 0;
  pthread_mutex_lock(&e->lock);
  if (rpc(e->ctl_fd, WIRE_OP_CLOSE, 0, 0, NULL, 0, NULL, 0, NULL, &result, e->scratch) != 0)
    result = 0; /* the fake is gone; the fd is released all the same */
  destroy_sockets(e);
  pthread_mutex_unlock(&e->lock);
  release(e);
  /* As with any close(), the fd is released even when an error is reported. */
  return result_to_return(result);
}

EXPORT int close(int fd) {
  int saved_errno = errno;
  return (int)errno_kept_on_success(shim_close(fd), saved_errno);
}
