/*
 * QEMU PowerPC pSeries (sPAPR): a VMC adapter (Virtual Management Channel,
 * the device Linux's ibmvmc driver binds to) whose hypervisor side is an
 * external process, reached through a chardev.
 *
 * The device holds no hypervisor logic. It carries what the guest does
 * through the adapter (CRQ entries, H_COPY_RDMA into the hypervisor's
 * buffers, H_REQUEST_VMC) over the chardev as frames, and puts what the
 * process sends (CRQ entries, buffer contents, answers) into the guest. The
 * protocol is docs/qemu-vmc-bridge.md of the ibmvmc project.
 *
 * Written for QEMU 7.2 (Debian bookworm's 1:7.2+dfsg-7+deb12u18).
 *
 * Copyright (c) 2026 the ibmvmc authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "migration/vmstate.h"
#include "chardev/char-fe.h"
#include "hw/ppc/spapr.h"
#include "hw/ppc/spapr_vio.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "qom/object.h"

#include <libfdt.h>

#ifndef H_REQUEST_VMC
#define H_REQUEST_VMC 0x360
#endif

#define TYPE_SPAPR_VMC "spapr-vmc"
OBJECT_DECLARE_SIMPLE_TYPE(SpaprVmcState, SPAPR_VMC)

/* Frames: type, 3 reserved bytes, payload length, all big-endian */
#define VMC_PROTOCOL_VERSION    1
#define VMC_HEADER_LEN          8
#define VMC_MAX_PAYLOAD         (65536 + 8)
/* The largest H_COPY_RDMA: its RDMA frame (address + bytes) must fit */
#define VMC_MAX_COPY            65536

enum {
    /* QEMU -> hypervisor */
    VMC_HELLO = 0x01,
    VMC_CRQ = 0x02,
    VMC_RDMA = 0x03,
    VMC_REQUEST_VMC = 0x04,
    VMC_NOTE = 0x05,
    VMC_RESET = 0x06,
    /* hypervisor -> QEMU */
    VMC_HV_HELLO = 0x81,
    VMC_HV_CRQ = 0x82,
    VMC_HV_MEM_WRITE = 0x83,
    VMC_HV_REQUEST_VMC_ANSWER = 0x84,
};

#define VMC_CRQ_LEN             16
/*
 * Entries for the guest that wait for a free slot in its queue (the driver's
 * queue is one page: 256 entries, 4096 with 64 KiB pages). When this many
 * wait, the socket is not read any further until the guest makes room: the
 * hypervisor is held back, not forgotten.
 */
#define VMC_PENDING_MAX         1024

struct SpaprVmcState {
    SpaprVioDevice vdev;
    CharBackend chr;
    uint32_t window_size;       /* property "window-size" */
    uint32_t remote_liobn;      /* property "remote-liobn", 0: from reg */

    /* The remote window: the hypervisor's buffers, as the guest sees them */
    uint8_t *window;

    bool connected;             /* the chardev is open, our HELLO sent */
    bool up;                    /* the hypervisor's HELLO came: all works */

    /* The frame being received: can_read asks for no more than its rest */
    uint8_t *in;
    uint32_t in_have, in_want;

    /* A ring of entries for the guest, waiting for room in its queue */
    uint8_t (*pending)[VMC_CRQ_LEN];
    unsigned pending_head, pending_count;
    QEMUTimer *retry;

    /* H_REQUEST_VMC: one request at a time is with the hypervisor */
    uint32_t request;           /* the number of the last one forwarded */
    bool request_outstanding;
    bool answered;
    int64_t answer_rc;
    uint64_t answer_value;
};

/*
 * There is one VMC adapter per partition, and the hypervisor calls that are
 * not about a unit address (H_COPY_RDMA, H_REQUEST_VMC) find it here.
 */
static SpaprVmcState *spapr_vmc;

static void vmc_send(SpaprVmcState *s, uint8_t type, const void *payload,
                     uint32_t len)
{
    uint8_t hdr[VMC_HEADER_LEN] = { type };

    if (!s->connected) {
        return;
    }
    stl_be_p(hdr + 4, len);
    /*
     * Blocks until written, under the big lock: a hypervisor that does not
     * read stalls the guest, but each direction stays one ordered stream
     * (an RDMA frame is out before the hypercall that made it returns).
     */
    qemu_chr_fe_write_all(&s->chr, hdr, sizeof(hdr));
    if (len) {
        qemu_chr_fe_write_all(&s->chr, payload, len);
    }
}

static void G_GNUC_PRINTF(2, 3) vmc_note(SpaprVmcState *s, const char *fmt,
                                         ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    if (!s->up) {
        return;
    }
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vmc_send(s, VMC_NOTE, text, strlen(text));
}

/* A frame we cannot make sense of: the stream is lost, start over. */
static void G_GNUC_PRINTF(2, 3) vmc_protocol_error(SpaprVmcState *s,
                                                   const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_report("spapr-vmc: %s; disconnecting", text);
    vmc_note(s, "refused: %s; disconnecting", text);
    qemu_chr_fe_disconnect(&s->chr);
}

/* Guest's queue */

static void vmc_drop_pending(SpaprVmcState *s)
{
    s->pending_head = s->pending_count = 0;
    timer_del(s->retry);
}

/* Returns false when the guest's next slot is still full. */
static bool vmc_deliver(SpaprVmcState *s, uint8_t *entry)
{
    int rc;

    if (!s->vdev.crq.qsize) {
        /* Not registered (yet, or freed by a driver that resets) */
        vmc_note(s, "entry %02x %02x dropped: the guest has no queue "
                 "registered", entry[0], entry[1]);
        return true;
    }
    rc = spapr_vio_send_crq(&s->vdev, entry);
    if (rc == 1) {
        return false;
    }
    if (rc) {
        /* The queue's pages are not mapped for the device: the guest's bug */
        vmc_note(s, "entry %02x %02x dropped: the guest's queue cannot be "
                 "written (%d)", entry[0], entry[1], rc);
    }
    return true;
}

static void vmc_to_guest(SpaprVmcState *s, const uint8_t *crq)
{
    uint8_t entry[VMC_CRQ_LEN];

    memcpy(entry, crq, sizeof(entry));
    /* Behind waiting ones, to keep the order */
    if (!s->pending_count && vmc_deliver(s, entry)) {
        return;
    }
    if (s->pending_count == VMC_PENDING_MAX) {
        /* vmc_can_read keeps the socket backend from getting here */
        error_report("spapr-vmc: %d entries wait for the guest's queue: "
                     "entry %02x %02x dropped", VMC_PENDING_MAX, entry[0],
                     entry[1]);
        return;
    }
    if (!s->pending_count) {
        vmc_note(s, "the guest's queue is full: entries wait");
        /*
         * Retried every millisecond of virtual time: the guest only makes
         * room while it runs, and the virtual clock stops with the VM.
         */
        timer_mod(s->retry, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + 1);
    }
    memcpy(s->pending[(s->pending_head + s->pending_count) % VMC_PENDING_MAX],
           entry, sizeof(entry));
    s->pending_count++;
}

static void vmc_retry(void *opaque)
{
    SpaprVmcState *s = opaque;
    bool was_full = s->pending_count == VMC_PENDING_MAX;

    while (s->pending_count) {
        if (!vmc_deliver(s, s->pending[s->pending_head])) {
            timer_mod(s->retry, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + 1);
            break;
        }
        s->pending_head = (s->pending_head + 1) % VMC_PENDING_MAX;
        s->pending_count--;
    }
    if (was_full && s->pending_count < VMC_PENDING_MAX) {
        qemu_chr_fe_accept_input(&s->chr);
    }
}

/* H_SEND_CRQ */
static int vmc_send_crq(SpaprVioDevice *dev, uint8_t *crq)
{
    SpaprVmcState *s = SPAPR_VMC(dev);

    if (!s->up) {
        return H_CLOSED;    /* lost, as when the partner has no queue */
    }
    vmc_send(s, VMC_CRQ, crq, VMC_CRQ_LEN);
    return H_SUCCESS;
}

/* The hypervisor is gone, or the machine starts over: forget the guest's */
static void vmc_forget(SpaprVmcState *s)
{
    vmc_drop_pending(s);
    s->request_outstanding = false;
    s->answered = false;
}

/* Frames from the hypervisor */

static void vmc_frame(SpaprVmcState *s, uint8_t type, const uint8_t *p,
                      uint32_t len)
{
    uint32_t addr, n, version;

    if (!s->up && type != VMC_HV_HELLO) {
        vmc_protocol_error(s, "frame 0x%02x before HELLO", type);
        return;
    }
    switch (type) {
    case VMC_HV_HELLO:
        if (s->up || len != 4) {
            vmc_protocol_error(s, "%s HELLO of %u bytes",
                               s->up ? "second" : "a", len);
            return;
        }
        version = ldl_be_p(p);
        if (version != VMC_PROTOCOL_VERSION) {
            vmc_protocol_error(s, "protocol version %u (this is %u)",
                               version, VMC_PROTOCOL_VERSION);
            return;
        }
        s->up = true;
        break;
    case VMC_HV_CRQ:
        if (len != VMC_CRQ_LEN) {
            vmc_protocol_error(s, "CRQ frame of %u bytes", len);
            return;
        }
        vmc_to_guest(s, p);
        break;
    case VMC_HV_MEM_WRITE:
        if (len < 4) {
            vmc_protocol_error(s, "MEM_WRITE frame of %u bytes", len);
            return;
        }
        addr = ldl_be_p(p);
        n = len - 4;
        if (addr > s->window_size || n > s->window_size - addr) {
            vmc_note(s, "MEM_WRITE of %u bytes at 0x%x ignored: outside the "
                     "window (0x%x bytes)", n, addr, s->window_size);
            return;
        }
        memcpy(s->window + addr, p + 4, n);
        break;
    case VMC_HV_REQUEST_VMC_ANSWER:
        if (len != 24) {
            vmc_protocol_error(s, "REQUEST_VMC_ANSWER frame of %u bytes", len);
            return;
        }
        n = ldl_be_p(p);
        if (!s->request_outstanding || s->answered || n != s->request) {
            vmc_note(s, "REQUEST_VMC_ANSWER to request %u ignored: %s", n,
                     s->request_outstanding && !s->answered ?
                     "another one is outstanding" : "none is outstanding");
            return;
        }
        s->answer_rc = ldq_be_p(p + 8);
        s->answer_value = ldq_be_p(p + 16);
        s->answered = true;
        break;
    default:
        vmc_protocol_error(s, "unknown frame type 0x%02x", type);
    }
}

static int vmc_can_read(void *opaque)
{
    SpaprVmcState *s = opaque;

    /*
     * One frame at a time, never past its end: whatever follows stays in
     * the socket while the guest's queue is too far behind.
     */
    if (s->pending_count == VMC_PENDING_MAX) {
        return 0;
    }
    return s->in_want - s->in_have;
}

static void vmc_read(void *opaque, const uint8_t *buf, int size)
{
    SpaprVmcState *s = opaque;
    uint32_t n, len;

    while (size > 0 && s->connected) {
        n = MIN((uint32_t)size, s->in_want - s->in_have);
        memcpy(s->in + s->in_have, buf, n);
        s->in_have += n;
        buf += n;
        size -= n;
        if (s->in_have < s->in_want) {
            break;
        }
        if (s->in_want == VMC_HEADER_LEN) {
            len = ldl_be_p(s->in + 4);
            if (s->in[1] || s->in[2] || s->in[3] || len > VMC_MAX_PAYLOAD) {
                vmc_protocol_error(s, "frame header %02x %02x %02x %02x, "
                                   "length %u", s->in[0], s->in[1],
                                   s->in[2], s->in[3], len);
                return;
            }
            s->in_want += len;
            if (len) {
                continue;
            }
        }
        s->in_have = 0;
        s->in_want = VMC_HEADER_LEN;
        vmc_frame(s, s->in[0], s->in + VMC_HEADER_LEN,
                  ldl_be_p(s->in + 4));
    }
}

static void vmc_event(void *opaque, QEMUChrEvent event)
{
    SpaprVmcState *s = opaque;
    uint32_t hello[5];
    static const uint8_t transport_event[VMC_CRQ_LEN] = { 0xff, 0x01 };

    switch (event) {
    case CHR_EVENT_OPENED:
        s->connected = true;
        s->up = false;
        s->in_have = 0;
        s->in_want = VMC_HEADER_LEN;
        stl_be_p(&hello[0], VMC_PROTOCOL_VERSION);
        stl_be_p(&hello[1], s->vdev.reg);
        stl_be_p(&hello[2], s->vdev.tcet->liobn);
        stl_be_p(&hello[3], s->remote_liobn);
        stl_be_p(&hello[4], s->window_size);
        vmc_send(s, VMC_HELLO, hello, sizeof(hello));
        break;
    case CHR_EVENT_CLOSED:
        s->connected = false;
        if (!s->up) {
            /* Never came up: nothing of it waits, no partner to lose */
            break;
        }
        s->up = false;
        vmc_forget(s);
        /* The partner failed: the driver resets and waits for an INIT */
        if (s->vdev.crq.qsize) {
            vmc_to_guest(s, transport_event);
        }
        break;
    default:
        break;
    }
}

/* Hypervisor calls that are not about a unit address */

enum { VMC_NO_WINDOW, VMC_LOCAL, VMC_REMOTE };

static int vmc_window(SpaprVmcState *s, target_ulong liobn)
{
    if (liobn == s->vdev.tcet->liobn) {
        return VMC_LOCAL;
    }
    if (liobn == s->remote_liobn) {
        return VMC_REMOTE;
    }
    return VMC_NO_WINDOW;
}

static bool vmc_range_ok(SpaprVmcState *s, int window, target_ulong ioba,
                         uint64_t len, DMADirection dir)
{
    uint64_t size = window == VMC_LOCAL ?
        (uint64_t)s->vdev.tcet->nb_table << s->vdev.tcet->page_shift :
        s->window_size;

    if (ioba > size || len > size - ioba) {
        return false;
    }
    /* Through the TCE table: mapped, and for this direction */
    return window == VMC_REMOTE ||
        dma_memory_valid(&s->vdev.as, ioba, len, dir,
                         MEMTXATTRS_UNSPECIFIED);
}

static target_ulong h_copy_rdma(PowerPCCPU *cpu, SpaprMachineState *spapr,
                                target_ulong opcode, target_ulong *args)
{
    SpaprVmcState *s = spapr_vmc;
    int64_t len = args[0];
    target_ulong s_liobn = args[1], s_ioba = args[2];
    target_ulong d_liobn = args[3], d_ioba = args[4];
    int src, dst;
    g_autofree uint8_t *frame = NULL;

    if (!s) {
        return H_FUNCTION;  /* as without this device */
    }
    /* Checked in this order, and nothing is copied when one fails */
    if (len < 0 || len > VMC_MAX_COPY) {
        return H_PARAMETER;
    }
    src = vmc_window(s, s_liobn);
    if (src == VMC_NO_WINDOW) {
        return H_SOURCE_PARM;
    }
    dst = vmc_window(s, d_liobn);
    if (dst == VMC_NO_WINDOW) {
        return H_DEST_PARM;
    }
    if (src == dst) {
        return H_PARAMETER;
    }
    if (!vmc_range_ok(s, src, s_ioba, len, DMA_DIRECTION_TO_DEVICE)) {
        return H_SOURCE_PARM;
    }
    if (!vmc_range_ok(s, dst, d_ioba, len, DMA_DIRECTION_FROM_DEVICE)) {
        return H_DEST_PARM;
    }
    if (!s->up) {
        return H_PERMISSION;    /* the partner is not there */
    }
    if (!len) {
        return H_SUCCESS;
    }

    if (dst == VMC_REMOTE) {
        /*
         * Into the hypervisor's buffers: the bytes are kept in the window
         * (the guest may copy them back) and sent along (the hypervisor
         * never reads the window).
         */
        frame = g_malloc(4 + len);
        stl_be_p(frame, d_ioba);
        if (dma_memory_read(&s->vdev.as, s_ioba, frame + 4, len,
                            MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
            return H_SOURCE_PARM;
        }
        memcpy(s->window + d_ioba, frame + 4, len);
        vmc_send(s, VMC_RDMA, frame, 4 + len);
    } else if (dma_memory_write(&s->vdev.as, d_ioba, s->window + s_ioba, len,
                                MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
        return H_DEST_PARM;
    }
    return H_SUCCESS;
}

static target_ulong h_request_vmc(PowerPCCPU *cpu, SpaprMachineState *spapr,
                                  target_ulong opcode, target_ulong *args)
{
    SpaprVmcState *s = spapr_vmc;
    uint8_t number[4];

    if (!s) {
        return H_FUNCTION;  /* the firmware lacks the call */
    }
    if (!s->up) {
        return H_HARDWARE;
    }
    if (s->answered) {
        s->answered = false;
        s->request_outstanding = false;
        args[0] = s->answer_value;
        return s->answer_rc;
    }
    if (!s->request_outstanding) {
        s->request_outstanding = true;
        stl_be_p(number, ++s->request);
        vmc_send(s, VMC_REQUEST_VMC, number, sizeof(number));
    }
    /*
     * The driver's h_request_vmc() sleeps and calls again; nothing here
     * waits for the process. It keeps calling until an answer comes.
     */
    return H_LONG_BUSY_ORDER_1_MSEC;
}

/* The device */

/*
 * The driver reads the remote window's LIOBN from the second window of
 * ibm,my-dma-window, which QEMU writes with one: write both.
 */
static int spapr_vmc_devnode(SpaprVioDevice *dev, void *fdt, int node_off)
{
    SpaprVmcState *s = SPAPR_VMC(dev);
    uint64_t local_size = (uint64_t)dev->tcet->nb_table <<
        dev->tcet->page_shift;
    uint32_t windows[10] = {
        /* liobn, 2 cells of address, 2 of size (ibm,#dma-*-cells) */
        cpu_to_be32(dev->tcet->liobn), 0, 0,
        cpu_to_be32(local_size >> 32), cpu_to_be32(local_size),
        cpu_to_be32(s->remote_liobn), 0, 0,
        0, cpu_to_be32(s->window_size),
    };

    return fdt_setprop(fdt, node_off, "ibm,my-dma-window", windows,
                       sizeof(windows));
}

static void spapr_vmc_reset(SpaprVioDevice *dev)
{
    SpaprVmcState *s = SPAPR_VMC(dev);

    /*
     * The guest's queue is gone (freed by the VIO code before this).
     * The window is left as it is: it is the hypervisor's memory, and
     * the hypervisor is told.
     */
    vmc_forget(s);
    if (s->up) {
        vmc_send(s, VMC_RESET, NULL, 0);
    }
}

static void spapr_vmc_realize(SpaprVioDevice *dev, Error **errp)
{
    SpaprVmcState *s = SPAPR_VMC(dev);

    if (spapr_vmc) {
        error_setg(errp, "only one spapr-vmc device is supported "
                   "(a partition has one VMC adapter)");
        return;
    }
    if (!qemu_chr_fe_backend_connected(&s->chr)) {
        error_setg(errp, "spapr-vmc needs a chardev (chardev=...)");
        return;
    }
    if (s->window_size < 4 * KiB || s->window_size > 256 * MiB ||
        s->window_size % (4 * KiB)) {
        error_setg(errp, "window-size must be a multiple of 4 KiB "
                   "from 4 KiB to 256 MiB");
        return;
    }
    if (!s->remote_liobn) {
        /* Clear of VIO (the reg, 0x71xxxxxx) and PCI (0x8000xxxx) ones */
        s->remote_liobn = 0x7e000000 | (dev->reg & 0x00ffffff);
    }
    if (s->remote_liobn == dev->tcet->liobn ||
        spapr_tce_find_by_liobn(s->remote_liobn)) {
        error_setg(errp, "remote-liobn 0x%x is taken", s->remote_liobn);
        return;
    }

    dev->crq.SendFunc = vmc_send_crq;
    s->window = g_malloc0(s->window_size);
    s->in = g_malloc(VMC_HEADER_LEN + VMC_MAX_PAYLOAD);
    s->in_want = VMC_HEADER_LEN;
    s->pending = g_malloc(VMC_PENDING_MAX * VMC_CRQ_LEN);
    s->retry = timer_new_ms(QEMU_CLOCK_VIRTUAL, vmc_retry, s);
    spapr_vmc = s;
    /* Last: an already open chardev sends CHR_EVENT_OPENED from here */
    qemu_chr_fe_set_handlers(&s->chr, vmc_can_read, vmc_read, vmc_event,
                             NULL, s, NULL, true);
}

static Property spapr_vmc_properties[] = {
    DEFINE_SPAPR_PROPERTIES(SpaprVmcState, vdev),
    DEFINE_PROP_CHR("chardev", SpaprVmcState, chr),
    DEFINE_PROP_UINT32("window-size", SpaprVmcState, window_size, 2 * MiB),
    DEFINE_PROP_UINT32("remote-liobn", SpaprVmcState, remote_liobn, 0),
    DEFINE_PROP_END_OF_LIST(),
};

/* The hypervisor's state lives in another process: nothing to migrate */
static const VMStateDescription vmstate_spapr_vmc = {
    .name = TYPE_SPAPR_VMC,
    .unmigratable = 1,
};

static void spapr_vmc_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    SpaprVioDeviceClass *k = VIO_SPAPR_DEVICE_CLASS(klass);

    k->realize = spapr_vmc_realize;
    k->reset = spapr_vmc_reset;
    k->devnode = spapr_vmc_devnode;
    k->dt_name = "vmc";
    k->dt_type = "ibm,vmc";
    k->dt_compatible = "IBM,vmc";
    k->signal_mask = 0x00000001;    /* else H_VIO_SIGNAL refuses interrupts */
    k->rtce_window_size = 0x10000000;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, spapr_vmc_properties);
    object_class_property_set_description(klass, "window-size",
        "bytes of the remote window (the hypervisor's buffers)");
    object_class_property_set_description(klass, "remote-liobn",
        "LIOBN of the remote window (0: 0x7e000000 | (reg & 0xffffff))");
    dc->vmsd = &vmstate_spapr_vmc;
}

static const TypeInfo spapr_vmc_info = {
    .name          = TYPE_SPAPR_VMC,
    .parent        = TYPE_VIO_SPAPR_DEVICE,
    .instance_size = sizeof(SpaprVmcState),
    .class_init    = spapr_vmc_class_init,
};

static void spapr_vmc_register_types(void)
{
    /* Here, once: registering twice asserts (one device at most anyway) */
    spapr_register_hypercall(H_COPY_RDMA, h_copy_rdma);
    spapr_register_hypercall(H_REQUEST_VMC, h_request_vmc);
    type_register_static(&spapr_vmc_info);
}

type_init(spapr_vmc_register_types)
