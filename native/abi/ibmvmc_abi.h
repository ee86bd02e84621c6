/*
 * The user-space ABI of the ibmvmc driver, as user space sees it.
 *
 * Numbers are built with the target's own _IOW/_IOR macros: the bit layout
 * differs between architectures (powerpc: 3 direction bits, 13 size bits),
 * so a number written down for x86_64 would be wrong on POWER.
 */
#ifndef IBMVMC_ABI_H
#define IBMVMC_ABI_H

#include <linux/ioctl.h>

#define IBMVMC_DEVICE_PATH "/dev/ibmvmc"
#define IBMVMC_HMC_ID_LEN 32
#define IBMVMC_IOCTL_TYPE 0xCC

struct ibmvmc_query_struct {
  int have_vmc;
  int state;
  int vmc_drc_index;
};

/* The driver declares SETHMCID with a pointer type, so its size field is the
 * size of a pointer even though 32 bytes are read. */
#define IBMVMC_IOCTL_SETHMCID _IOW(IBMVMC_IOCTL_TYPE, 0x00, unsigned char *)
#define IBMVMC_IOCTL_QUERY _IOR(IBMVMC_IOCTL_TYPE, 0x01, struct ibmvmc_query_struct)
#define IBMVMC_IOCTL_REQUESTVMC _IOR(IBMVMC_IOCTL_TYPE, 0x02, unsigned int)

#endif
