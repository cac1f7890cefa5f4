/*
 * socketcan:IFACE — a raw CAN socket (Linux). Receives 11- and 29-bit frames,
 * remote frames, CAN FD when the interface's MTU allows it, and every class of
 * error frame (bus state comes from them). Timestamps: the controller's
 * hardware stamp when the driver gives one that agrees with the system clock,
 * else the kernel's receive stamp, else the time of the read. Frames the
 * kernel dropped for a full socket queue are counted (SO_RXQ_OVFL).
 *
 * At open, the interface's bitrate and controller state are read over rtnetlink
 * (what ip -details link show prints); vcan has neither.
 *
 * An interface that goes down (ip link set can0 down) or disappears makes
 * read and write return BL_EIO with t->down set; the socket stays, so
 * bl_transport_reopen() succeeds once the interface is back.
 */
#include "bmslink/transport.h"

#include <errno.h>
#include <linux/can.h>
#include <linux/can/netlink.h>
#include <linux/can/raw.h>
#include <linux/rtnetlink.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* SCM_TIMESTAMPING payload (linux/errqueue.h, which clashes with glibc's
 * headers): [0] software, [1] legacy, [2] raw hardware. */
struct sc_timestamping {
    struct timespec ts[3];
};

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* A hardware stamp further than this from the kernel's is in another clock domain. */
#define HW_TS_MAX_SKEW_US 2000000u
/* How long a write waits for room in a full transmit queue. */
#define TX_WAIT_MS 200

typedef struct {
    bl_transport_t *t;
    int fd;
    bool fd_frames;     /* CAN FD enabled on the socket */
    uint32_t drops;     /* last SO_RXQ_OVFL counter */
    char iface[IFNAMSIZ];
} sc_t;

int bl_socketcan_parse(const char *iface, const char **why)
{
    size_t n = strlen(iface);
    if (n == 0 || n >= IFNAMSIZ) {
        *why = "expected an interface name of 1 to 15 characters (socketcan:can0)";
        return BL_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (iface[i] == '/' || iface[i] == ':' || iface[i] <= ' ' || iface[i] > '~') {
            *why = "an interface name has no '/', ':' or blanks";
            return BL_EINVAL;
        }
    return 0;
}

static uint64_t ts_us(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
}

static void link_lost(sc_t *s, int e)
{
    if (!s->t->down)
        bl_transport_note(s->t, e == ENODEV ? "interface %s disappeared" : "interface %s went down", s->iface);
    s->t->down = true;
}

static int sc_read(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    sc_t *s = ctx;
    struct canfd_frame cf;
    char ctrl[CMSG_SPACE(sizeof(struct sc_timestamping)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
    struct iovec iov = { .iov_base = &cf, .iov_len = sizeof cf };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl };
    uint64_t sw = 0, hw = 0;
    ssize_t n;
    (void)err;

    for (;;) {
        n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n >= 0)
            break;
        if (errno == EINTR)
            return 0;
        if (errno == ENETDOWN || errno == ENODEV || errno == ENXIO) {
            link_lost(s, errno);
            return BL_EIO;
        }
        if (errno != EAGAIN) {
            snprintf(s->t->err, sizeof s->t->err, "%s: recvmsg: %s", s->iface, strerror(errno));
            return BL_EIO;
        }
        if (timeout_ms == 0)
            return 0;
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        int rc = poll(&p, 1, timeout_ms);
        if (rc == 0 || (rc < 0 && errno == EINTR))
            return 0;
        if (rc < 0) {
            snprintf(s->t->err, sizeof s->t->err, "%s: poll: %s", s->iface, strerror(errno));
            return BL_EIO;
        }
        timeout_ms = 0; /* readable (or an error to collect): one more try, no second wait */
    }
    if (n != CAN_MTU && n != CANFD_MTU) {
        snprintf(s->t->err, sizeof s->t->err, "%s: read %zd bytes, not a CAN frame", s->iface, n);
        return BL_EIO;
    }
    if (s->t->down) {
        s->t->down = false;
        bl_transport_note(s->t, "interface %s is up again", s->iface);
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SO_TIMESTAMPING) {
            struct sc_timestamping st;
            memcpy(&st, CMSG_DATA(c), sizeof st);
            sw = ts_us(&st.ts[0]);
            hw = ts_us(&st.ts[2]);
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t d;
            memcpy(&d, CMSG_DATA(c), sizeof d);
            if (d != s->drops) {
                s->t->stats.rx_drop += (uint32_t)(d - s->drops);
                bl_transport_note(s->t, "%s: kernel dropped %u frames (socket queue full)", s->iface,
                                  (unsigned)(d - s->drops));
                s->drops = d;
            }
        }
    }
    memset(f, 0, sizeof *f);
    if (hw != 0 && sw != 0 && (hw > sw ? hw - sw : sw - hw) < HW_TS_MAX_SKEW_US) {
        f->ts_us = hw;
        s->t->ts_source = "hardware";
    } else if (sw != 0) {
        f->ts_us = sw;
        s->t->ts_source = "kernel";
    } else {
        f->ts_us = bl_clock_wall_us();
        s->t->ts_source = "host";
    }
    f->has_ts = 1;
    f->dir = 'R';
    memcpy(f->bus, s->t->bus, sizeof f->bus);
    if (cf.can_id & CAN_ERR_FLAG) {
        f->f.id = cf.can_id & CAN_ERR_MASK;
        f->f.flags = BL_CAN_ERR;
    } else if (cf.can_id & CAN_EFF_FLAG) {
        f->f.id = cf.can_id & CAN_EFF_MASK;
        f->f.flags = BL_CAN_EXT;
    } else {
        f->f.id = cf.can_id & CAN_SFF_MASK;
    }
    if (cf.can_id & CAN_RTR_FLAG && !(cf.can_id & CAN_ERR_FLAG))
        f->f.flags |= BL_CAN_RTR;
    if (n == CANFD_MTU)
        f->f.flags |= BL_CAN_FD;
    f->f.len = cf.len > (n == CANFD_MTU ? CANFD_MAX_DLEN : CAN_MAX_DLEN) ? (n == CANFD_MTU ? CANFD_MAX_DLEN : CAN_MAX_DLEN)
                                                                      : cf.len;
    memcpy(f->f.data, cf.data, f->f.len);
    return 1;
}

static int sc_write(void *ctx, const bl_cap_frame_t *cf)
{
    sc_t *s = ctx;
    const bl_can_frame_t *f = &cf->f;
    struct canfd_frame out;
    bool fd = (f->flags & BL_CAN_FD) != 0;
    size_t mtu = fd ? CANFD_MTU : CAN_MTU;
    bool ext = (f->flags & (BL_CAN_EXT | BL_CAN_ERR)) != 0;

    if (fd && !s->fd_frames) {
        snprintf(s->t->err, sizeof s->t->err, "%s is not a CAN FD interface (MTU 16)", s->iface);
        return BL_EINVAL;
    }
    if (f->len > (fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN) || f->id > (ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK) ||
        (fd && (f->flags & BL_CAN_RTR))) {
        snprintf(s->t->err, sizeof s->t->err, "cannot send: id, length or frame type out of range");
        return BL_EINVAL;
    }
    memset(&out, 0, sizeof out);
    out.can_id = f->id | ((f->flags & BL_CAN_EXT) ? CAN_EFF_FLAG : 0u) | ((f->flags & BL_CAN_RTR) ? CAN_RTR_FLAG : 0u) |
                 ((f->flags & BL_CAN_ERR) ? CAN_ERR_FLAG : 0u);
    out.len = f->len;
    memcpy(out.data, f->data, f->len);
    for (int waited = 0;;) {
        ssize_t w = write(s->fd, &out, mtu);
        if (w == (ssize_t)mtu)
            return 0;
        if (w >= 0) {
            snprintf(s->t->err, sizeof s->t->err, "%s: short write", s->iface);
            return BL_EIO;
        }
        if (errno == EINTR)
            continue;
        if (errno == ENETDOWN || errno == ENODEV || errno == ENXIO) {
            link_lost(s, errno);
            return BL_EIO;
        }
        /* ENOBUFS: the interface's transmit queue is full (bus-off, nobody
         * acknowledging, or a saturated bus). poll() cannot wait for it. */
        if ((errno == ENOBUFS || errno == EAGAIN) && waited < TX_WAIT_MS) {
            struct timespec ts = { 0, 2000000 };
            nanosleep(&ts, NULL);
            waited += 2;
            continue;
        }
        if (errno == ENOBUFS || errno == EAGAIN) {
            snprintf(s->t->err, sizeof s->t->err, "%s: transmit queue full for %d ms (bus-off, or nobody acknowledges?)",
                     s->iface, TX_WAIT_MS);
            return BL_EAGAIN;
        }
        snprintf(s->t->err, sizeof s->t->err, "%s: write: %s", s->iface, strerror(errno));
        return BL_EIO;
    }
}

static void sc_close(void *ctx)
{
    sc_t *s = ctx;
    close(s->fd);
    free(s);
}

static const bl_transport_ops_t sc_ops = { sc_read, sc_write, sc_close };

/* The attribute of a type among [at, at + len), or NULL. */
static const struct rtattr *rta_find(const struct rtattr *at, size_t len, unsigned short type)
{
    for (; len >= sizeof *at && at->rta_len >= sizeof *at && at->rta_len <= len;
         len -= RTA_ALIGN(at->rta_len), at = (const struct rtattr *)((const char *)at + RTA_ALIGN(at->rta_len)))
        if ((at->rta_type & ~NLA_F_NESTED) == type)
            return at;
    return NULL;
}

/*
 * The controller's bitrate and state (IFLA_LINKINFO > IFLA_INFO_DATA > IFLA_CAN_*).
 * *bitrate = 0 and *state = -1 when the interface has none (vcan) or netlink fails:
 * it is information for the user, never a reason not to open.
 */
static void link_info(int ifindex, uint32_t *bitrate, int *state)
{
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
    } req;
    union {
        struct nlmsghdr nh;
        char b[16384];
    } resp;
    struct timeval tv = { 0, 200000 };
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    ssize_t n;

    *bitrate = 0;
    *state = -1;
    if (fd < 0)
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi);
    req.nh.nlmsg_type = RTM_GETLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.ifi.ifi_family = AF_UNSPEC;
    req.ifi.ifi_index = ifindex;
    if (send(fd, &req, req.nh.nlmsg_len, 0) < 0 || (n = recv(fd, resp.b, sizeof resp.b, 0)) < 0) {
        close(fd);
        return;
    }
    close(fd);
    if (!NLMSG_OK(&resp.nh, (unsigned)n) || resp.nh.nlmsg_type != RTM_NEWLINK)
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(&resp.nh);
    const struct rtattr *info = rta_find(IFLA_RTA(ifi), IFLA_PAYLOAD(&resp.nh), IFLA_LINKINFO);
    if (info == NULL)
        return;
    const struct rtattr *data = rta_find(RTA_DATA(info), RTA_PAYLOAD(info), IFLA_INFO_DATA);
    if (data == NULL)
        return;
    const struct rtattr *bt = rta_find(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_CAN_BITTIMING);
    const struct rtattr *st = rta_find(RTA_DATA(data), RTA_PAYLOAD(data), IFLA_CAN_STATE);
    if (bt != NULL && RTA_PAYLOAD(bt) >= sizeof(struct can_bittiming)) {
        struct can_bittiming b;
        memcpy(&b, RTA_DATA(bt), sizeof b);
        *bitrate = b.bitrate;
    }
    if (st != NULL && RTA_PAYLOAD(st) >= sizeof(uint32_t)) {
        uint32_t v;
        memcpy(&v, RTA_DATA(st), sizeof v);
        *state = (int)v;
    }
}

/* linux/can/netlink.h enum can_state -> our bus state */
static bl_bus_state_t from_can_state(int st)
{
    switch (st) {
    case CAN_STATE_ERROR_ACTIVE: return BL_CANST_ACTIVE;
    case CAN_STATE_ERROR_WARNING: return BL_CANST_WARNING;
    case CAN_STATE_ERROR_PASSIVE: return BL_CANST_PASSIVE;
    case CAN_STATE_BUS_OFF: return BL_CANST_BUS_OFF;
    default: return BL_CANST_UNKNOWN; /* stopped, sleeping, or no controller (vcan) */
    }
}

static int fail(sc_t *s, int rc, char *errbuf, size_t errlen, const char *fmt, const char *a)
{
    snprintf(errbuf, errlen, fmt, a, strerror(errno));
    if (s->fd >= 0)
        close(s->fd);
    free(s);
    return rc;
}

int bl_socketcan_open(bl_transport_t *t, const char *iface, char *errbuf, size_t errlen)
{
    const char *why;
    struct ifreq ifr;
    struct sockaddr_can addr;
    int on = 1, ts_flags, rc;
    can_err_mask_t all_errors = CAN_ERR_MASK;
    sc_t *s;

    if (bl_socketcan_parse(iface, &why) < 0) {
        snprintf(errbuf, errlen, "%s", why);
        return BL_EINVAL;
    }
    if ((s = calloc(1, sizeof *s)) == NULL)
        return BL_ENOMEM;
    s->t = t;
    snprintf(s->iface, sizeof s->iface, "%s", iface);
    s->fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, CAN_RAW);
    if (s->fd < 0)
        return fail(s, BL_EIO, errbuf, errlen,
                    errno == EAFNOSUPPORT ? "%s: this kernel has no SocketCAN (%s): load can and can-raw, or use slcan:"
                                          : "%s: socket: %s",
                    iface);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    if (ioctl(s->fd, SIOCGIFINDEX, &ifr) < 0)
        return fail(s, BL_EIO, errbuf, errlen,
                    errno == ENODEV ? "no interface '%s' (%s; ip -br link lists them)" : "%s: %s", iface);
    memset(&addr, 0, sizeof addr);
    addr.can_family = AF_CAN;
    addr.can_ifindex = ifr.ifr_ifindex;
    if (ioctl(s->fd, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_CAN) {
        errno = EINVAL;
        return fail(s, BL_EIO, errbuf, errlen, "%s is not a CAN interface (%s)", iface);
    }
    if (ioctl(s->fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        errno = ENETDOWN;
        return fail(s, BL_EIO, errbuf, errlen,
                    "interface %s is down (%s): ip link set it up, with its bitrate for real controllers", iface);
    }
    if (ioctl(s->fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu == CANFD_MTU &&
        setsockopt(s->fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof on) == 0)
        s->fd_frames = true;
    if (setsockopt(s->fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &all_errors, sizeof all_errors) < 0)
        return fail(s, BL_EIO, errbuf, errlen, "%s: cannot receive error frames: %s", iface);
    /* Optional extras: a kernel without them still gives frames. */
    (void)setsockopt(s->fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    ts_flags = SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_RAW_HARDWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
               SOF_TIMESTAMPING_SOFTWARE;
    (void)setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPING, &ts_flags, sizeof ts_flags);
    rc = bind(s->fd, (struct sockaddr *)&addr, sizeof addr);
    if (rc < 0)
        return fail(s, BL_EIO, errbuf, errlen, "%s: bind: %s", iface);
    t->ops = &sc_ops;
    t->ctx = s;
    t->kind = "socketcan";
    t->live = true;
    t->fd = s->fd;
    t->ts_source = "kernel";
    snprintf(t->bus, sizeof t->bus, "%s", iface);
    {
        int st;
        link_info(addr.can_ifindex, &t->bitrate, &st);
        bl_transport_set_bus_state(t, from_can_state(st));
        if (st == CAN_STATE_BUS_OFF)
            snprintf(t->err, sizeof t->err, "%s is bus-off: it sends and receives nothing until restarted "
                     "(ip link set %s type can restart-ms 100)", iface, iface);
    }
    return 0;
}
