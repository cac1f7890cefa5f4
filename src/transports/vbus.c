/*
 * virtual:NAME — an in-process CAN bus. Every endpoint opened with the same
 * NAME receives what the others write (not its own frames, as a CAN controller
 * without self-reception), in order, stamped with the wall-clock time of the
 * write. Endpoints may live in different threads: one lock guards the buses,
 * and each endpoint's eventfd is readable while its queue holds frames, so a
 * caller can poll() it beside sockets and serial ports.
 *
 * A full receive queue drops the newest frame and counts it, as a controller's
 * FIFO does. Writing an error frame (BL_CAN_ERR) delivers it to the other
 * endpoints: that is how a test makes the bus report error-passive or bus-off.
 */
#include "bmslink/transport.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VBUS_MAX 32
#define VBUS_NAME_MAX 32
#define VBUS_QUEUE 8192 /* frames per endpoint: about 1 s of a saturated 1 Mbit/s bus */

typedef struct vep {
    struct vbus *bus;
    struct vep *next;
    bl_transport_t *t;
    int efd;
    size_t head, count;
    uint64_t drops; /* not yet reported to the reader */
    bl_cap_frame_t q[VBUS_QUEUE];
} vep_t;

typedef struct vbus {
    char name[VBUS_NAME_MAX];
    vep_t *eps; /* NULL: slot free */
} vbus_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static vbus_t buses[VBUS_MAX];

int bl_vbus_parse(const char *name, const char **why)
{
    size_t n = strlen(name);
    if (n == 0 || n >= VBUS_NAME_MAX) {
        *why = "expected a bus name of 1 to 31 characters (virtual:NAME)";
        return BL_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.')) {
            *why = "a bus name has only letters, digits, '_', '-' and '.'";
            return BL_EINVAL;
        }
    }
    return 0;
}

static void signal_ready(int efd)
{
    uint64_t one = 1;
    ssize_t w = write(efd, &one, sizeof one);
    (void)w; /* a full counter is still readable */
}

static void clear_ready(int efd)
{
    uint64_t v;
    ssize_t r = read(efd, &v, sizeof v);
    (void)r; /* EAGAIN: already clear */
}

static int vbus_read(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err)
{
    vep_t *e = ctx;
    uint64_t deadline = timeout_ms > 0 ? bl_clock_mono_ms() + (uint64_t)timeout_ms : 0;
    (void)err;

    for (;;) {
        uint64_t drops;
        bool got = false;

        pthread_mutex_lock(&lock);
        drops = e->drops;
        e->drops = 0;
        if (e->count > 0) {
            *f = e->q[e->head];
            e->head = (e->head + 1) % VBUS_QUEUE;
            if (--e->count == 0)
                clear_ready(e->efd);
            got = true;
        }
        pthread_mutex_unlock(&lock);
        if (drops > 0) {
            e->t->stats.rx_drop += drops;
            bl_transport_note(e->t, "receive queue full: %llu frames dropped (reader too slow)",
                              (unsigned long long)drops);
        }
        if (got)
            return 1;
        if (timeout_ms == 0)
            return 0;
        int wait = -1;
        if (timeout_ms > 0) {
            uint64_t now = bl_clock_mono_ms();
            if (now >= deadline)
                return 0;
            wait = (int)(deadline - now);
        }
        struct pollfd p = { .fd = e->efd, .events = POLLIN };
        int rc = poll(&p, 1, wait);
        if (rc == 0 || (rc < 0 && errno == EINTR))
            return 0;
        if (rc < 0) {
            snprintf(e->t->err, sizeof e->t->err, "poll: %s", strerror(errno));
            return BL_EIO;
        }
    }
}

static bool frame_ok(const bl_can_frame_t *f, const char **why)
{
    bool ext = (f->flags & (BL_CAN_EXT | BL_CAN_ERR)) != 0;
    if (f->id > (ext ? BL_CAN_EFF_MASK : BL_CAN_SFF_MASK)) {
        *why = ext ? "id above 0x1FFFFFFF" : "11-bit id above 0x7FF";
        return false;
    }
    if (f->len > ((f->flags & BL_CAN_FD) ? 64u : 8u)) {
        *why = "data longer than the frame type allows";
        return false;
    }
    if ((f->flags & BL_CAN_FD) && (f->flags & BL_CAN_RTR)) {
        *why = "CAN FD has no remote frames";
        return false;
    }
    return true;
}

static int vbus_write(void *ctx, const bl_cap_frame_t *f)
{
    vep_t *e = ctx;
    bl_cap_frame_t c = *f;
    const char *why;

    if (!frame_ok(&f->f, &why)) {
        snprintf(e->t->err, sizeof e->t->err, "cannot send: %s", why);
        return BL_EINVAL;
    }
    c.ts_us = bl_clock_wall_us();
    c.has_ts = 1;
    c.dir = 'R'; /* as the receivers see it */
    memcpy(c.bus, e->t->bus, sizeof c.bus);
    pthread_mutex_lock(&lock);
    for (vep_t *o = e->bus->eps; o != NULL; o = o->next) {
        if (o == e)
            continue;
        if (o->count == VBUS_QUEUE) {
            o->drops++;
            continue;
        }
        o->q[(o->head + o->count) % VBUS_QUEUE] = c;
        if (o->count++ == 0)
            signal_ready(o->efd);
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

static void vbus_close(void *ctx)
{
    vep_t *e = ctx;

    pthread_mutex_lock(&lock);
    for (vep_t **pp = &e->bus->eps; *pp != NULL; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    pthread_mutex_unlock(&lock);
    close(e->efd);
    free(e);
}

static const bl_transport_ops_t vbus_ops = { vbus_read, vbus_write, vbus_close };

int bl_vbus_open(bl_transport_t *t, const char *name, char *errbuf, size_t errlen)
{
    const char *why;
    vbus_t *b = NULL, *free_slot = NULL;
    vep_t *e;

    if (bl_vbus_parse(name, &why) < 0) {
        snprintf(errbuf, errlen, "%s", why);
        return BL_EINVAL;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return BL_ENOMEM;
    }
    e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->efd < 0) {
        snprintf(errbuf, errlen, "eventfd: %s", strerror(errno));
        free(e);
        return BL_EIO;
    }
    e->t = t;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < VBUS_MAX && b == NULL; i++) {
        if (buses[i].eps != NULL && strcmp(buses[i].name, name) == 0)
            b = &buses[i];
        else if (buses[i].eps == NULL && free_slot == NULL)
            free_slot = &buses[i];
    }
    if (b == NULL && free_slot != NULL) {
        b = free_slot;
        snprintf(b->name, sizeof b->name, "%s", name);
    }
    if (b != NULL) {
        e->bus = b;
        e->next = b->eps;
        b->eps = e;
    }
    pthread_mutex_unlock(&lock);
    if (b == NULL) {
        snprintf(errbuf, errlen, "too many virtual buses (%d in use)", VBUS_MAX);
        close(e->efd);
        free(e);
        return BL_ENOMEM;
    }
    t->ops = &vbus_ops;
    t->ctx = e;
    t->kind = "virtual";
    t->live = true;
    t->fd = e->efd;
    t->ts_source = "host";
    t->bus_state = BL_CANST_ACTIVE;
    snprintf(t->bus, sizeof t->bus, "%.*s", (int)sizeof t->bus - 1, name);
    return 0;
}
