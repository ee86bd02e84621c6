/*
 * The executor of the seeded random run (test/real-driver/random-run.test.ts):
 * an unmodified C program that makes the calls it is told to on /dev/ibmvmc
 * (or $CONTRACT_DEVICE) and prints what each returned, so that two drivers
 * given the same calls can be compared line by line.
 *
 * Two processes: this one (process 0) and a child forked at start (process 1),
 * each with at most one descriptor, opened O_NONBLOCK so that no call waits.
 * Each stdin line is "P OP [ARGS]"; process 1's lines go to the child over a
 * pipe and its answer comes back the same way, so calls happen one at a time,
 * in the order given. Each answer is one stdout line: "P OP [ARGS] = RESULT".
 *
 *   open                     open(O_RDWR | O_NONBLOCK): "0" or "-1 ERRNO"
 *   close                    close(): the same ("nofd" without a descriptor)
 *   sethmcid N               SETHMCID with the id "random-N", NUL-padded
 *   query                    QUERY: "0 have_vmc=H state=S drc=D"
 *   requestvmc               REQUESTVMC: "0 drc=D"
 *   write LEN SEQ            LEN bytes, byte i = (SEQ * 31 + i) & 0xff
 *   read LEN                 "N fnv=HASH" of the N bytes read
 *   poll                     poll(POLLIN | POLLOUT, 0): "N revents=0xR"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ibmvmc_abi.h"

#define MAX_LEN 65536

static unsigned char buffer[MAX_LEN];

static void failed(char *out, size_t size) { snprintf(out, size, "-1 %s", strerrorname_np(errno)); }

static uint32_t fnv1a(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/* Makes the call a line names and writes its result into out. */
static void perform(int *fd, const char *line, char *out, size_t size) {
  char op[16] = "";
  long a = 0, b = 0;
  if (sscanf(line, "%15s %ld %ld", op, &a, &b) < 1 || a < 0 || a > MAX_LEN) {
    snprintf(out, size, "bad line");
    return;
  }
  if (strcmp(op, "open") == 0) {
    if (*fd >= 0) {
      snprintf(out, size, "has fd");
      return;
    }
    const char *path = getenv("CONTRACT_DEVICE");
    *fd = open(path ? path : IBMVMC_DEVICE_PATH, O_RDWR | O_NONBLOCK);
    if (*fd < 0)
      failed(out, size);
    else
      snprintf(out, size, "0");
    return;
  }
  if (*fd < 0) {
    snprintf(out, size, "nofd");
    return;
  }
  errno = 0;
  if (strcmp(op, "close") == 0) {
    int r = close(*fd);
    *fd = -1;
    if (r < 0)
      failed(out, size);
    else
      snprintf(out, size, "0");
  } else if (strcmp(op, "sethmcid") == 0) {
    unsigned char id[IBMVMC_HMC_ID_LEN] = {0};
    snprintf((char *)id, sizeof(id), "random-%ld", a);
    if (ioctl(*fd, IBMVMC_IOCTL_SETHMCID, id) < 0)
      failed(out, size);
    else
      snprintf(out, size, "0");
  } else if (strcmp(op, "query") == 0) {
    struct ibmvmc_query_struct q = {-1, -1, -1};
    if (ioctl(*fd, IBMVMC_IOCTL_QUERY, &q) < 0)
      failed(out, size);
    else
      snprintf(out, size, "0 have_vmc=%d state=%d drc=%d", q.have_vmc, q.state, q.vmc_drc_index);
  } else if (strcmp(op, "requestvmc") == 0) {
    unsigned int drc = 0;
    if (ioctl(*fd, IBMVMC_IOCTL_REQUESTVMC, &drc) < 0)
      failed(out, size);
    else
      snprintf(out, size, "0 drc=%u", drc);
  } else if (strcmp(op, "write") == 0) {
    for (long i = 0; i < a; i++) buffer[i] = (unsigned char)((b * 31 + i) & 0xff);
    ssize_t n = write(*fd, buffer, (size_t)a);
    if (n < 0)
      failed(out, size);
    else
      snprintf(out, size, "%zd", n);
  } else if (strcmp(op, "read") == 0) {
    ssize_t n = read(*fd, buffer, (size_t)a);
    if (n < 0)
      failed(out, size);
    else
      snprintf(out, size, "%zd fnv=%08x", n, fnv1a(buffer, (size_t)n));
  } else if (strcmp(op, "poll") == 0) {
    struct pollfd p = {.fd = *fd, .events = POLLIN | POLLOUT};
    int n = poll(&p, 1, 0);
    if (n < 0)
      failed(out, size);
    else
      snprintf(out, size, "%d revents=0x%x", n, (unsigned)p.revents);
  } else {
    snprintf(out, size, "bad op");
  }
}

/* Process 1: lines from the parent, answers back, until the pipe closes. */
static void child(FILE *in, FILE *out) {
  int fd = -1;
  char line[128], result[128];
  while (fgets(line, sizeof(line), in) != NULL) {
    perform(&fd, line, result, sizeof(result));
    fprintf(out, "%s\n", result);
    fflush(out);
  }
  exit(0);
}

int main(void) {
  int to_child[2], from_child[2];
  if (pipe(to_child) < 0 || pipe(from_child) < 0) return 2;
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) {
    close(to_child[1]);
    close(from_child[0]);
    child(fdopen(to_child[0], "r"), fdopen(from_child[1], "w"));
  }
  close(to_child[0]);
  close(from_child[1]);
  FILE *to = fdopen(to_child[1], "w"), *from = fdopen(from_child[0], "r");
  int fd = -1;
  char line[128], result[128];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    line[strcspn(line, "\n")] = 0;
    if (line[0] == '1' && line[1] == ' ') {
      fprintf(to, "%s\n", line + 2);
      fflush(to);
      if (fgets(result, sizeof(result), from) == NULL) return 2;
      result[strcspn(result, "\n")] = 0;
    } else if (line[0] == '0' && line[1] == ' ') {
      perform(&fd, line + 2, result, sizeof(result));
    } else {
      snprintf(result, sizeof(result), "bad line");
    }
    printf("%s = %s\n", line, result);
    fflush(stdout);
  }
  fclose(to);
  waitpid(pid, NULL, 0);
  return 0;
}
