/*
 * The C reference client of the benchmarks: blocking write, blocking read,
 * one router echo at a time, on /dev/ibmvmc (the fake, through the shim).
 * Usage: c-client MTU, then one line per block on stdin,
 * "DATA_BYTES COUNT WARMUP": opens a session, makes WARMUP round trips, then
 * COUNT timed ones in the same loop, closes, and prints one JSON line of
 * round trips in ns. The process lives for the whole bench, as the Node
 * clients do. Reads use a buffer of the MTU, as the driver wants.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ibmvmc_abi.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* One block: 0, or 1 with the reason on stderr. */
static int block(size_t data, int count, int warmup, size_t mtu) {
  int fd = open(IBMVMC_DEVICE_PATH, O_RDWR);
  unsigned char id[IBMVMC_HMC_ID_LEN] = "bench-c";
  int rc = fd < 0 ? -1 : 0;
  /* EBUSY: every slot taken, the previous block's still closing. */
  while (rc == 0 && (rc = ioctl(fd, IBMVMC_IOCTL_SETHMCID, id)) < 0 && errno == EBUSY) {
    rc = 0;
    usleep(100);
  }
  if (rc < 0) {
    perror("open/SETHMCID");
    return 1;
  }
  size_t len = 32 + data;
  unsigned char *msg = calloc(1, len), *in = malloc(mtu);
  uint64_t *marks = malloc(sizeof(uint64_t) * ((size_t)(warmup + count) + 1));
  msg[0] = 0xDE, msg[1] = 0xCA, msg[2] = 0xFF, msg[3] = 32;
  put32(msg + 4, (uint32_t)len);
  msg[12] = 0x80, msg[15] = 0x80;
  put32(msg + 16, (uint32_t)data);
  msg[20] = 0x01, msg[21] = 0x03;
  /* The open is confirmed asynchronously: wait for the first write to pass. */
  while (write(fd, msg, len) < 0) {
    if (errno != EBUSY) {
      perror("write");
      return 1;
    }
    usleep(100);
  }
  if (read(fd, in, mtu) != (ssize_t)len) {
    perror("read");
    return 1;
  }
  /* Warm-up and timed round trips in one loop, as in the Node clients. */
  uint64_t t0 = now_ns();
  for (int i = 0; i < warmup + count; i++) {
    marks[i] = now_ns() - t0;
    put32(msg + 8, (uint32_t)i + 1);
    if (write(fd, msg, len) != (ssize_t)len || read(fd, in, mtu) != (ssize_t)len) {
      perror("round trip");
      return 1;
    }
  }
  marks[warmup + count] = now_ns() - t0;
  printf("{\"totalNs\":%llu,\"rttNs\":[", (unsigned long long)(marks[warmup + count] - marks[warmup]));
  for (int i = warmup; i < warmup + count; i++)
    printf("%s%llu", i > warmup ? "," : "", (unsigned long long)(marks[i + 1] - marks[i]));
  printf("]}\n");
  fflush(stdout);
  close(fd);
  free(msg);
  free(in);
  free(marks);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  size_t mtu = (size_t)atoi(argv[1]);
  size_t data;
  int count, warmup;
  while (scanf("%zu %d %d", &data, &count, &warmup) == 3) {
    if (block(data, count, warmup, mtu) != 0) return 1;
  }
  return 0;
}
