/*
 * Frames exchanged between the preload shim and the fake driver.
 * docs/fake-wire-protocol.md is the specification; keep the two in step.
 */
#ifndef IBMVMC_FAKE_WIRE_H
#define IBMVMC_FAKE_WIRE_H

#include <stdint.h>

#define WIRE_ENV_SOCKET "IBMVMC_FAKE_SOCKET"
#define WIRE_ENV_DEVICE "IBMVMC_FAKE_DEVICE"
#define WIRE_DATA_SUFFIX ".data"
#define WIRE_TOKEN_LEN 8
#define WIRE_MAX_INLINE_WRITE 65536u

enum wire_op {
  WIRE_OP_OPEN = 1,
  WIRE_OP_SETHMCID = 2,
  WIRE_OP_QUERY = 3,
  WIRE_OP_REQUESTVMC = 4,
  WIRE_OP_IOCTL = 5,
  WIRE_OP_WRITE = 6,
  WIRE_OP_READ = 7,
  WIRE_OP_CLOSE = 8,
  WIRE_OP_EVENTS = 9,
  WIRE_OP_READ_TAKEN = 10,
};

enum wire_write_data {
  WIRE_WRITE_INLINE = 0,
  WIRE_WRITE_TOO_LONG = 1,
  WIRE_WRITE_UNREADABLE = 2,
};

/* Little-endian on the wire; every supported target is little-endian. */
struct wire_request {
  uint32_t payload_len;
  uint32_t op;
  uint32_t arg0;
  uint32_t arg1;
};

struct wire_reply {
  uint32_t payload_len;
  int32_t result;
};

/* Starts every data frame; the message follows. */
struct wire_data_header {
  uint32_t length;
  /* Reads of at most this many bytes may take the frame without asking the
   * fake (they report it with READ_TAKEN); 0: always ask. */
  uint32_t local_read_limit;
};

#endif
