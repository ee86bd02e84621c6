/*
 * The C reference client of the benchmarks: blocking write, blocking read,
 * one router echo at a time, on /dev/ibmvmc (the fake, through the shim).
 * Usage: c-client DATA_BYTES COUNT MTU [WARMUP]: WARMUP round trips (default 0)
 * go before the clock starts, as for the Node clients. Reads use a buffer of the MTU, as the
 * driver wants. Prints one JSON line of round trips in ns.
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

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  size_t data = (size_t)atoi(argv[1]);
  int count = atoi(argv[2]);
  size_t mtu = (size_t)atoi(argv[3]);
  int warmup = argc > 4 ? atoi(argv[4]) : 0;
  int fd = open(IBMVMC_DEVICE_PATH, O_RDWR);
  unsigned char id[IBMVMC_HMC_ID_LEN] = "bench-c";
  if (fd < 0 || ioctl(fd, IBMVMC_IOCTL_SETHMCID, id) < 0) {
    perror("open/SETHMCID");
    return 1;
  }
  size_t len = 32 + data;
  unsigned char *msg = calloc(1, len), *in = malloc(16384);
  msg[0] = 0xDE, msg[1] = 0xCA, msg[2] = 0xFF, msg[3] = 32;
  put32(msg + 4, (uint32_t)len);
  msg[12] = 0x80, msg[15] = 0x80;
  put32(msg + 16, (uint32_t)data);
  msg[20] = 0x01, msg[21] = 0x03;
  /* The open is confirmed asynchronously: wait for the first write to pass. */
  while (write(fd, msg, len) < 0) {
    if (errno != EBUSY) return 1;
    usleep(100);
  }
  if (read(fd, in, mtu) != (ssize_t)len) {
    perror("read");
    return 1;
  }
  for (int i = 0; i < warmup; i++) {
    if (write(fd, msg, len) != (ssize_t)len || read(fd, in, mtu) != (ssize_t)len) return 1;
  }
  uint64_t *rtt = malloc(sizeof(uint64_t) * (size_t)count);
  uint64_t start = now_ns();
  for (int i = 0; i < count; i++) {
    put32(msg + 8, (uint32_t)i + 1);
    uint64_t t = now_ns();
    if (write(fd, msg, len) != (ssize_t)len) return 1;
    if (read(fd, in, mtu) != (ssize_t)len) return 1;
    rtt[i] = now_ns() - t;
  }
  uint64_t total = now_ns() - start;
  printf("{\"totalNs\":%llu,\"rttNs\":[", (unsigned long long)total);
  for (int i = 0; i < count; i++) printf("%s%llu", i ? "," : "", (unsigned long long)rtt[i]);
  printf("]}\n");
  close(fd);
  return 0;
}
