/*
 * An unmodified C program walking the /dev/ibmvmc contract
 * (shared/reference/ibmvmc-driver-contract.md) through the preload shim.
 *
 * Usage: contract_client SCENARIO [ARG]. It opens /dev/ibmvmc (or
 * $CONTRACT_DEVICE), prints "ok ..." or "not ok ..." per check and exits
 * non-zero if any check failed. "READY tag" lines let the test driver act at
 * the right moment (reset the fake, close another process's session); a line
 * on stdin says go on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ibmvmc_abi.h"

static int failures;
/* An address no process maps; volatile so the compiler does not object. */
static void *volatile bad_pointer = (void *)8;
static int mtu = 4096;

/* Every check prints what it saw in brackets, "[result]" or "[-1 ERRNO]", so
 * that two runs (the fake, the real driver) can be compared line by line. */
static void observed(long got, int got_errno) {
  if (got == -1 && got_errno)
    printf(" [-1 %s]", strerrorname_np(got_errno));
  else if (got_errno)
    printf(" [%ld, errno %s]", got, strerrorname_np(got_errno));
  else
    printf(" [%ld]", got);
}

static void ok(const char *what, long got, int got_errno) {
  printf("ok %s", what);
  observed(got, got_errno);
  printf("\n");
}

static void fail(const char *what, long got, int got_errno, const char *expected) {
  printf("not ok %s", what);
  observed(got, got_errno);
  printf(" expected %s\n", expected);
  failures++;
}

/* The call must fail with exactly this errno. */
#define EXPECT_ERRNO(call, err, what)                     \
  do {                                                    \
    errno = 0;                                            \
    long r_ = (long)(call);                               \
    int e_ = errno;                                       \
    if (r_ == -1 && e_ == (err))                          \
      ok(what, r_, e_);                                   \
    else                                                  \
      fail(what, r_, r_ == -1 ? e_ : 0, "-1 with " #err); \
  } while (0)

/* The call must return exactly this value. */
#define EXPECT_RESULT(call, value, what)         \
  do {                                           \
    errno = 0;                                   \
    long r_ = (long)(call);                      \
    int e_ = errno;                              \
    if (r_ == (long)(value))                     \
      ok(what, r_, r_ == -1 ? e_ : 0);           \
    else                                         \
      fail(what, r_, r_ == -1 ? e_ : 0, #value); \
  } while (0)

/* The call must succeed with exactly this value and leave errno as it was,
 * as the kernel does: EDOM, which nothing here can produce, goes in first. */
#define EXPECT_ERRNO_KEPT(call, value, what)                 \
  do {                                                       \
    errno = EDOM;                                            \
    long r_ = (long)(call);                                  \
    int e_ = errno;                                          \
    if (r_ == (long)(value) && e_ == EDOM)                   \
      ok(what, r_, e_);                                      \
    else                                                     \
      fail(what, r_, e_, #value " with errno left at EDOM"); \
  } while (0)

/* The same for a call that may first fail with EBUSY, EAGAIN or ENOBUFS for
 * a while (a session still opening, a driver still starting): retried for up
 * to 2 s, with EDOM put back before every try. */
#define EXPECT_ERRNO_KEPT_RETRYING(call, value, what)                         \
  do {                                                                        \
    double deadline_ = now_ms() + 2000;                                       \
    long r_;                                                                  \
    int e_;                                                                   \
    for (;;) {                                                                \
      errno = EDOM;                                                           \
      r_ = (long)(call);                                                      \
      e_ = errno;                                                             \
      if (r_ != -1 || !(e_ == EBUSY || e_ == EAGAIN || e_ == ENOBUFS)) break; \
      if (now_ms() > deadline_) break;                                        \
      usleep(1000);                                                           \
    }                                                                         \
    if (r_ == (long)(value) && e_ == EDOM)                                    \
      ok(what, r_, e_);                                                       \
    else                                                                      \
      fail(what, r_, e_, #value " with errno left at EDOM");                  \
  } while (0)

static void sync_point(const char *tag) {
  printf("READY %s\n", tag);
  fflush(stdout);
  char line[32];
  if (fgets(line, sizeof(line), stdin) == NULL) exit(3);
}

static void announce(const char *tag) {
  printf("READY %s\n", tag);
  fflush(stdout);
}

static int open_device(int flags) {
  const char *path = getenv("CONTRACT_DEVICE");
  return open(path ? path : IBMVMC_DEVICE_PATH, flags);
}

static void set_hmc_id(int fd, const char *name) {
  unsigned char id[IBMVMC_HMC_ID_LEN] = {0};
  memcpy(id, name, strnlen(name, sizeof(id))); /* NUL-padded, not terminated */
  EXPECT_RESULT(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), 0, "SETHMCID binds a session");
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* A router echo request (HMC command format, big-endian header). */
static size_t echo_request(unsigned char *msg, uint32_t token, const void *data, size_t len) {
  memset(msg, 0, 32);
  msg[0] = 0xDE, msg[1] = 0xCA, msg[2] = 0xFF, msg[3] = 32;
  put32(msg + 4, (uint32_t)(32 + len));
  put32(msg + 8, token);
  msg[12] = 0x80, msg[13] = 0x00; /* router */
  msg[15] = 0x80;                 /* a response is expected */
  put32(msg + 16, (uint32_t)len);
  msg[20] = 0x01, msg[21] = 0x03; /* echo */
  memcpy(msg + 32, data, len);
  return 32 + len;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Writes, retrying EBUSY (open not yet answered, or no buffer) for up to 2 s. */
static ssize_t write_retrying(int fd, const void *buf, size_t len) {
  double deadline = now_ms() + 2000;
  for (;;) {
    ssize_t n = write(fd, buf, len);
    if (n >= 0 || errno != EBUSY || now_ms() > deadline) return n;
    usleep(1000);
  }
}

static short wait_readable(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
  if (poll(&p, 1, timeout_ms) <= 0) return 0;
  return p.revents;
}

static void check_readable(int fd, const char *what) {
  short revents = wait_readable(fd, 2000);
  if ((revents & POLLIN) && !(revents & (POLLOUT | POLLHUP | POLLERR)))
    ok(what, revents, 0);
  else
    fail(what, revents, 0, "POLLIN only");
}

static void check_not_readable(int fd, const char *what) {
  short revents = wait_readable(fd, 100);
  if (revents == 0)
    ok(what, revents, 0);
  else
    fail(what, revents, 0, "no events at all");
}

/* ---- scenarios --------------------------------------------------------------- */

static void before_bind(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  EXPECT_RESULT(fd >= 0, 1, "open succeeds");
  struct ibmvmc_query_struct q = {-1, -1, -1};
  EXPECT_RESULT(ioctl(fd, IBMVMC_IOCTL_QUERY, &q), 0, "QUERY needs no SETHMCID");
  EXPECT_RESULT(q.state, 3, "QUERY: state ready");
  EXPECT_RESULT(q.have_vmc, 1, "QUERY: have_vmc");
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_QUERY, bad_pointer), EFAULT,
               "QUERY to a bad pointer: EFAULT");
  char buf[16384 + 1];
  EXPECT_RESULT(read(fd, buf, 0), 0, "read of 0 bytes returns 0 first of all");
  EXPECT_ERRNO(read(fd, buf, (size_t)mtu + 1), EINVAL, "read over the MTU: EINVAL before anything");
  EXPECT_ERRNO(read(fd, buf, (size_t)mtu), EIO, "read without SETHMCID: EIO");
  EXPECT_ERRNO(write(fd, "x", 1), EIO, "write without SETHMCID: EIO");
  check_not_readable(fd, "without SETHMCID the fd is never readable, never writable");
  EXPECT_ERRNO(ioctl(fd, _IO(0xCC, 0x09), 0), EINVAL, "unknown ioctl: EINVAL");
  EXPECT_RESULT(close(fd), 0, "close");
}

static void on_alarm(int sig) { (void)sig; }

static void bind_and_talk(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_SETHMCID, bad_pointer), EFAULT,
               "SETHMCID with an unreadable id: EFAULT (slot reserved first)");
  set_hmc_id(fd, "contract");
  unsigned char id[IBMVMC_HMC_ID_LEN] = "again";
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), EIO, "SETHMCID twice: EIO");

  unsigned char msg[16384 + 64], in[16384 + 64];
  size_t len = echo_request(msg, 1, "hello", 5);
  EXPECT_RESULT(write_retrying(fd, msg, len), len, "write sends the whole message");
  check_readable(fd, "readable once the answer is queued, and nothing else");
  ssize_t n = read(fd, in, (size_t)mtu);
  EXPECT_RESULT(n, len, "read returns one whole message");
  EXPECT_RESULT(n >= 37 && in[15] == 0x40 && memcmp(in + 32, "hello", 5) == 0, 1,
                "the answer is an echo response with the same data");
  EXPECT_ERRNO(read(fd, in, (size_t)mtu), EAGAIN, "nothing queued, O_NONBLOCK: EAGAIN");
  check_not_readable(fd, "not readable once the queue is empty");

  EXPECT_ERRNO(write(fd, msg, (size_t)mtu + 1), EIO, "write over the MTU: EIO, not EINVAL");
  EXPECT_RESULT(write(fd, msg, 0), 0, "write of 0 bytes returns 0");
  EXPECT_ERRNO(write(fd, bad_pointer, 10), EFAULT, "write from a bad pointer: EFAULT");

  char hundred[100];
  memset(hundred, 'z', sizeof(hundred));
  len = echo_request(msg, 2, hundred, sizeof(hundred));
  EXPECT_RESULT(write_retrying(fd, msg, len), len, "write a 132-byte echo");
  check_readable(fd, "its answer makes the fd readable");
  EXPECT_RESULT(read(fd, in, 40), 40, "a short read truncates to the caller's size");
  EXPECT_ERRNO(read(fd, in, (size_t)mtu), EAGAIN, "the rest of that message is lost");

  /* Two queued messages come out one per read, oldest first. */
  len = echo_request(msg, 3, "first", 5);
  write_retrying(fd, msg, len);
  len = echo_request(msg, 4, "second", 6);
  write_retrying(fd, msg, len);
  usleep(100 * 1000);
  n = read(fd, in, (size_t)mtu);
  EXPECT_RESULT(n == 37 && memcmp(in + 32, "first", 5) == 0, 1, "oldest message first");
  n = read(fd, in, (size_t)mtu);
  EXPECT_RESULT(n == 38 && memcmp(in + 32, "second", 6) == 0, 1, "then the next, one per read");

  /* A blocking read waits for the answer. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  len = echo_request(msg, 5, "blocking", 8);
  write_retrying(fd, msg, len);
  EXPECT_RESULT(read(fd, in, (size_t)mtu), len, "a blocking read waits for the message");

  /* A signal interrupts a blocking read. */
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval timer = {{0, 0}, {0, 100 * 1000}};
  setitimer(ITIMER_REAL, &timer, NULL);
  EXPECT_ERRNO(read(fd, in, (size_t)mtu), EINTR, "a signal interrupts a blocking read: EINTR");
  EXPECT_RESULT(close(fd), 0, "close");
}

/* The driver takes a message off the queue before it copies it out: a read
 * into an unwritable buffer fails with EFAULT and the message is gone; its
 * buffer goes back all the same, so the session carries on. Not run under
 * valgrind, which rightly reports the bad buffer. */
static void read_fault(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "fault");
  unsigned char msg[64], in[16384 + 64];
  size_t len = echo_request(msg, 1, "lost", 4);
  EXPECT_RESULT(write_retrying(fd, msg, len), len, "write an echo");
  check_readable(fd, "its answer makes the fd readable");
  EXPECT_ERRNO(read(fd, bad_pointer, (size_t)mtu), EFAULT, "read into a bad pointer: EFAULT");
  EXPECT_ERRNO(read(fd, in, (size_t)mtu), EAGAIN, "the message it would have read is gone");
  check_not_readable(fd, "and the fd is no longer readable");
  len = echo_request(msg, 2, "next", 4);
  EXPECT_RESULT(write_retrying(fd, msg, len), len, "the session carries on: the next write");
  check_readable(fd, "its answer makes the fd readable");
  ssize_t n = read(fd, in, (size_t)mtu);
  EXPECT_RESULT(n == (ssize_t)len && memcmp(in + 32, "next", 4) == 0, 1, "and is read whole");
  EXPECT_RESULT(close(fd), 0, "close");
}

static void opening_busy(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "opening");
  unsigned char msg[64];
  size_t len = echo_request(msg, 1, "x", 1);
  EXPECT_ERRNO(write(fd, msg, len), EBUSY, "write before the hypervisor answers the open: EBUSY");
  usleep(500 * 1000);
  EXPECT_RESULT(write(fd, msg, len), len, "write once the open is answered");
  close(fd);
}

static void query_state(int state, int have_vmc, int sethmcid_errno) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  struct ibmvmc_query_struct q = {-1, -1, -1};
  EXPECT_RESULT(ioctl(fd, IBMVMC_IOCTL_QUERY, &q), 0, "QUERY");
  EXPECT_RESULT(q.state, state, "QUERY: the expected state");
  EXPECT_RESULT(q.have_vmc, have_vmc, "QUERY: have_vmc is state > 0");
  unsigned char id[IBMVMC_HMC_ID_LEN] = "state";
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), sethmcid_errno, "SETHMCID refused");
  EXPECT_RESULT(close(fd), 0, "close");
}

/* The driver's release returns EIO for an fd holding a slot when the driver
 * has failed, but the kernel discards a release's result: close() is 0. */
static void failed_after_bind(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "doomed");
  sync_point("bound");
  struct ibmvmc_query_struct q = {-1, -1, -1};
  ioctl(fd, IBMVMC_IOCTL_QUERY, &q);
  EXPECT_RESULT(q.state, 4, "the driver failed while the session was bound");
  EXPECT_RESULT(close(fd), 0,
                "close of a bound fd on a failed driver: 0 (the release's EIO is discarded)");
}

static void requestvmc(const char *expected) {
  int fd = open_device(O_RDWR);
  unsigned int index = 0;
  if (strncmp(expected, "E", 1) == 0) {
    int err = strcmp(expected, "EPERM") == 0    ? EPERM
              : strcmp(expected, "EIO") == 0    ? EIO
              : strcmp(expected, "ENODEV") == 0 ? ENODEV
                                                : EINVAL;
    EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_REQUESTVMC, &index), err, "REQUESTVMC fails as scripted");
  } else {
    unsigned int want = (unsigned int)strtoul(expected, NULL, 0);
    EXPECT_RESULT(ioctl(fd, IBMVMC_IOCTL_REQUESTVMC, &index), 0, "REQUESTVMC needs no SETHMCID");
    EXPECT_RESULT(index, want, "REQUESTVMC returns the DRC index");
    struct ibmvmc_query_struct q;
    ioctl(fd, IBMVMC_IOCTL_QUERY, &q);
    EXPECT_RESULT((unsigned int)q.vmc_drc_index, want, "QUERY reports the new DRC index");
    EXPECT_RESULT(q.state, 3, "the driver state does not change");
  }
  close(fd);
}

static void legacy_busy(void) {
  EXPECT_ERRNO(open_device(O_RDWR), EBUSY, "older drivers: open EBUSY");
}

static void pool(int size) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "pool");
  unsigned char msg[64], in[4096];
  size_t len = echo_request(msg, 1, "p", 1);
  int written = 0;
  for (int i = 0; i < size; i++)
    if (write_retrying(fd, msg, len) == (ssize_t)len) written++;
  EXPECT_RESULT(written, size, "one write per buffer of the pool");
  usleep(100 * 1000);
  EXPECT_ERRNO(write(fd, msg, len), EBUSY, "every buffer in flight: EBUSY");
  EXPECT_RESULT(read(fd, in, sizeof(in)), len, "reading an answer returns its buffer");
  EXPECT_RESULT(write(fd, msg, len), len, "so the next write goes through");
  close(fd);
}

static void reset_blocked_reader(void) {
  int fd = open_device(O_RDWR);
  set_hmc_id(fd, "blocked");
  unsigned char msg[64], in[4096];
  size_t len = echo_request(msg, 1, "x", 1);
  write_retrying(fd, msg, len);
  read(fd, in, sizeof(in));
  announce("blocking");
  EXPECT_ERRNO(read(fd, in, sizeof(in)), EBADFD, "a reset wakes a blocked reader with EBADFD");
  EXPECT_ERRNO(read(fd, in, sizeof(in)), EBADFD, "later reads: EBADFD");
  EXPECT_ERRNO(write(fd, msg, len), EIO, "writes after a reset: EIO");
  check_not_readable(fd, "a reset shows no POLLIN, POLLHUP or POLLERR");
  EXPECT_RESULT(close(fd), 0, "close");
}

/* Blocking round trips back to back, each answer whole and in order (the
 * shim lets a blocking read that would block wait for the frame itself). */
static void blocking_echoes(void) {
  int fd = open_device(O_RDWR);
  set_hmc_id(fd, "blocking");
  unsigned char msg[4096], in[4096], data[4096 - 32];
  for (size_t i = 0; i < sizeof(data); i++) data[i] = (unsigned char)(i * 7 + 1);
  size_t max_data = (size_t)mtu - 32 < sizeof(data) ? (size_t)mtu - 32 : sizeof(data);
  int wrong = 0;
  for (uint32_t i = 0; i < 300; i++) {
    size_t data_len = 1 + (i * 37) % max_data;
    size_t len = echo_request(msg, i + 1, data, data_len);
    write_retrying(fd, msg, len);
    ssize_t n = read(fd, in, (size_t)mtu);
    uint32_t token = (uint32_t)in[8] << 24 | (uint32_t)in[9] << 16 | (uint32_t)in[10] << 8 | in[11];
    if (n != (ssize_t)len || token != i + 1 || memcmp(in + 32, data, data_len) != 0) wrong++;
  }
  EXPECT_RESULT(wrong, 0, "300 blocking round trips: every answer whole, in order");
  size_t len = echo_request(msg, 301, data, 64);
  write_retrying(fd, msg, len);
  EXPECT_RESULT(read(fd, in, 40), 40, "a shorter blocking read truncates as before");
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  EXPECT_ERRNO(read(fd, in, (size_t)mtu), EAGAIN, "then nothing is left: EAGAIN");
  EXPECT_RESULT(close(fd), 0, "close");
}

static void reset_drains(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "drains");
  unsigned char msg[64], in[4096];
  size_t len = echo_request(msg, 1, "x", 1);
  write_retrying(fd, msg, len);
  check_readable(fd, "an unread answer is queued");
  sync_point("queued");
  usleep(100 * 1000);
  check_not_readable(fd, "a reset empties the queue: no longer readable");
  EXPECT_ERRNO(read(fd, in, sizeof(in)), EBADFD, "non-blocking read after a reset: EBADFD");
  close(fd);
}

static void open_refused(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "refused");
  usleep(100 * 1000);
  unsigned char msg[64], in[4096];
  EXPECT_ERRNO(write(fd, msg, echo_request(msg, 1, "x", 1)), EIO, "open refused: write EIO");
  EXPECT_ERRNO(read(fd, in, sizeof(in)), EAGAIN, "open refused: readers are not told (EAGAIN)");
  close(fd);
}

static void slot_holder(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  set_hmc_id(fd, "holder");
  sync_point("held");
  EXPECT_RESULT(close(fd), 0, "close sends Interface Close");
  announce("closed");
}

static void slot_waiter(void) {
  int fd = open_device(O_RDWR | O_NONBLOCK);
  unsigned char id[IBMVMC_HMC_ID_LEN] = "waiter";
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), EBUSY, "every slot in use: EBUSY");
  sync_point("refused");
  EXPECT_ERRNO(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), EBUSY,
               "a slot whose close is not answered yet is still busy: EBUSY");
  /* The close answer frees the slot and every buffer of it: until the
   * hypervisor adds them again, SETHMCID gets ENOBUFS (the fake re-lends them
   * in the same turn; the real driver can be asked in between). */
  double deadline = now_ms() + 3000;
  int rc, err = 0, busy = 0, nobufs = 0;
  while ((rc = ioctl(fd, IBMVMC_IOCTL_SETHMCID, id)) < 0 && now_ms() < deadline) {
    err = errno;
    if (err == EBUSY)
      busy++;
    else if (err == ENOBUFS)
      nobufs++;
    else
      break;
    usleep(5000);
  }
  printf("# waited: %d EBUSY, %d ENOBUFS\n", busy, nobufs);
  if (rc == 0)
    ok("the slot is free once the close is answered (EBUSY, then maybe ENOBUFS, retried)", rc, 0);
  else
    fail("the slot is free once the close is answered (EBUSY, then maybe ENOBUFS, retried)", rc,
         err, "0");
  close(fd);
}

/* glibc's _FORTIFY_SOURCE entry points, which the shim intercepts too. */
extern int __open_2(const char *path, int flags);
extern int __open64_2(const char *path, int flags);
extern int __openat_2(int dirfd, const char *path, int flags);
extern int __openat64_2(int dirfd, const char *path, int flags);
extern ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

/* Every call the shim intercepts, on each of its ways to succeed, leaves
 * errno as it was (the shim's own socket calls must not show through). The
 * test driver injects a message at READY waiting and READY waiting-locally,
 * and resets the fake at READY reset. */
static void errno_preserved(void) {
  const char *device = getenv("CONTRACT_DEVICE") ? getenv("CONTRACT_DEVICE") : IBMVMC_DEVICE_PATH;
  int fd;
  EXPECT_ERRNO_KEPT((fd = open(device, O_RDWR)) >= 0, 1, "open");
  EXPECT_ERRNO_KEPT(close(fd), 0, "close of an unbound fd");
  EXPECT_ERRNO_KEPT((fd = open64(device, O_RDWR)) >= 0, 1, "open64");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = openat(AT_FDCWD, device, O_RDWR)) >= 0, 1, "openat");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = openat64(AT_FDCWD, device, O_RDWR)) >= 0, 1, "openat64");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = __open_2(device, O_RDWR)) >= 0, 1, "__open_2");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = __open64_2(device, O_RDWR)) >= 0, 1, "__open64_2");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = __openat_2(AT_FDCWD, device, O_RDWR)) >= 0, 1, "__openat_2");
  close(fd);
  EXPECT_ERRNO_KEPT((fd = __openat64_2(AT_FDCWD, device, O_RDWR)) >= 0, 1, "__openat64_2");
  close(fd);
  /* The real open of the fake's socket fails with ENXIO before the shim opens it as the device. */
  const char *socket_path = getenv("IBMVMC_FAKE_SOCKET");
  if (socket_path != NULL && socket_path[0] != '\0') {
    EXPECT_ERRNO_KEPT((fd = open(socket_path, O_RDWR)) >= 0, 1, "open of the fake's socket");
    close(fd);
  } else {
    printf("skip open of the fake's socket (no fake device)\n");
  }
  EXPECT_ERRNO_KEPT((fd = open("/dev/null", O_RDWR)) >= 0, 1, "open of another file");
  EXPECT_ERRNO_KEPT(close(fd), 0, "close of another file");

  fd = open(device, O_RDWR | O_NONBLOCK);
  int on = 1, off = 0;
  EXPECT_ERRNO_KEPT(ioctl(fd, FIOCLEX), 0, "ioctl FIOCLEX");
  EXPECT_ERRNO_KEPT(ioctl(fd, FIONCLEX), 0, "ioctl FIONCLEX");
  EXPECT_ERRNO_KEPT(ioctl(fd, FIOASYNC, &off), 0, "ioctl FIOASYNC");
  EXPECT_ERRNO_KEPT(ioctl(fd, FIONBIO, &on), 0, "ioctl FIONBIO");
  struct ibmvmc_query_struct q;
  EXPECT_ERRNO_KEPT(ioctl(fd, IBMVMC_IOCTL_QUERY, &q), 0, "ioctl QUERY");
  unsigned char id[IBMVMC_HMC_ID_LEN] = "errno";
  EXPECT_ERRNO_KEPT(ioctl(fd, IBMVMC_IOCTL_SETHMCID, id), 0, "ioctl SETHMCID");
  unsigned int index = 0;
  EXPECT_ERRNO_KEPT(ioctl(fd, IBMVMC_IOCTL_REQUESTVMC, &index), 0,
                    "ioctl REQUESTVMC, answered after a while");

  unsigned char msg[256], in[16384 + 64];
  EXPECT_ERRNO_KEPT(write(fd, msg, 0), 0, "write of 0 bytes");
  size_t len = echo_request(msg, 1, "kept", 4);
  EXPECT_ERRNO_KEPT_RETRYING(write(fd, msg, len), len, "write");
  check_readable(fd, "the answer makes the fd readable");
  EXPECT_ERRNO_KEPT(read(fd, in, (size_t)mtu), len, "non-blocking read of a message already there");
  EXPECT_ERRNO_KEPT(read(fd, in, 0), 0, "read of 0 bytes");
  EXPECT_ERRNO_KEPT_RETRYING(write(fd, msg, len), len, "write again");
  check_readable(fd, "the answer makes the fd readable");
  EXPECT_ERRNO_KEPT(read(fd, in, 10), 10, "a read that truncates the message");
  EXPECT_ERRNO_KEPT_RETRYING(write(fd, msg, len), len, "write again");
  check_readable(fd, "the answer makes the fd readable");
  EXPECT_ERRNO_KEPT(__read_chk(fd, in, (size_t)mtu, sizeof(in)), len, "__read_chk");

  EXPECT_ERRNO_KEPT(ioctl(fd, FIONBIO, &off), 0, "ioctl FIONBIO, to blocking");
  announce("waiting");
  EXPECT_ERRNO_KEPT(read(fd, in, (size_t)mtu), strlen("waiting"),
                    "a blocking read that asked the fake, then waited");
  announce("waiting-locally");
  EXPECT_ERRNO_KEPT(read(fd, in, (size_t)mtu), strlen("waiting-locally"),
                    "a blocking read that waited without asking");

  /* After a reset, this fd stays on its slot; a new session there must ask
   * the fake for each message (either fd may take it). */
  sync_point("reset");
  int fresh;
  EXPECT_ERRNO_KEPT((fresh = open(device, O_RDWR | O_NONBLOCK)) >= 0, 1, "open after a reset");
  EXPECT_ERRNO_KEPT_RETRYING(ioctl(fresh, IBMVMC_IOCTL_SETHMCID, id), 0,
                             "ioctl SETHMCID once the driver is back");
  EXPECT_ERRNO_KEPT_RETRYING(write(fresh, msg, len), len, "write in the new session");
  check_readable(fresh, "the answer makes the new fd readable");
  EXPECT_ERRNO_KEPT(read(fresh, in, (size_t)mtu), len, "a read the fake answers with a message");
  EXPECT_ERRNO_KEPT(close(fresh), 0, "close of a session");
  EXPECT_ERRNO_KEPT(close(fd), 0, "close of an fd left by a reset");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getenv("CONTRACT_MTU")) mtu = atoi(getenv("CONTRACT_MTU"));
  const char *scenario = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "";
  if (strcmp(scenario, "before-bind") == 0)
    before_bind();
  else if (strcmp(scenario, "bind") == 0)
    bind_and_talk();
  else if (strcmp(scenario, "read-fault") == 0)
    read_fault();
  else if (strcmp(scenario, "opening-busy") == 0)
    opening_busy();
  else if (strcmp(scenario, "not-ready") == 0)
    query_state(1, 1, EAGAIN);
  else if (strcmp(scenario, "no-adapter") == 0)
    query_state(0, 0, EAGAIN);
  else if (strcmp(scenario, "failed") == 0)
    query_state(4, 1, EIO);
  else if (strcmp(scenario, "failed-after-bind") == 0)
    failed_after_bind();
  else if (strcmp(scenario, "no-buffers") == 0)
    query_state(3, 1, ENOBUFS);
  else if (strcmp(scenario, "requestvmc") == 0)
    requestvmc(arg);
  else if (strcmp(scenario, "legacy-busy") == 0)
    legacy_busy();
  else if (strcmp(scenario, "pool") == 0)
    pool(atoi(arg));
  else if (strcmp(scenario, "reset-blocked-reader") == 0)
    reset_blocked_reader();
  else if (strcmp(scenario, "blocking-echoes") == 0)
    blocking_echoes();
  else if (strcmp(scenario, "reset-drains") == 0)
    reset_drains();
  else if (strcmp(scenario, "open-refused") == 0)
    open_refused();
  else if (strcmp(scenario, "slot-holder") == 0)
    slot_holder();
  else if (strcmp(scenario, "slot-waiter") == 0)
    slot_waiter();
  else if (strcmp(scenario, "errno-preserved") == 0)
    errno_preserved();
  else {
    fprintf(stderr, "unknown scenario %s\n", scenario);
    return 2;
  }
  return failures ? 1 : 0;
}
