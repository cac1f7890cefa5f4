/*
 * Transports (hosted layer): one interface over capture files, SocketCAN,
 * slcan adapters, serial lines and the in-process virtual bus, opened by the
 * URIs of CLI.md. Codecs stay pure; every descriptor lives here.
 *
 *   PATH, file:PATH, -        capture file or stdin (a pipe or FIFO reads live)
 *   socketcan:IFACE           raw CAN socket: 11/29-bit, error frames, kernel or hardware timestamps
 *   slcan:DEV[@BITRATE]       Lawicel/slcan adapter on a serial port (default 500000 bit/s)
 *   virtual:NAME              in-process bus: every endpoint opened with NAME sees what the others send
 *
 * Frames read from a live transport carry the wall-clock time they arrived
 * (ts_us, microseconds since the epoch, as candump -L writes it), dir 'R' and
 * the bus name of the transport. Error frames are returned like other frames
 * (BL_CAN_ERR set) after they have updated bus_state and the counters.
 *
 * An open transport must not be moved or copied: backends keep its address in
 * their ctx (to count, note state changes and fill err).
 */
#ifndef BMSLINK_TRANSPORT_H
#define BMSLINK_TRANSPORT_H

#include "bmslink/base.h"
#include "bmslink/canerr.h"
#include "bmslink/capture.h"

#include <sys/types.h>

typedef struct bl_transport bl_transport_t;
typedef struct bl_recorder bl_recorder_t;

typedef struct {
    /* 1 = *f holds a frame; 0 = nothing before the deadline (or a signal
     * interrupted the wait: check your stop flag); BL_ENOENT = end of stream;
     * BL_EBADMSG = a malformed item was skipped (err says why); BL_EIO = the
     * device or interface is gone (t->err says why). timeout_ms < 0 waits forever. */
    int (*read)(void *ctx, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err);
    /* 0 sent; BL_EINVAL the transport cannot carry this frame; BL_EAGAIN the
     * transmit queue stayed full; BL_EIO the device is gone. t->err says why. */
    int (*write)(void *ctx, const bl_cap_frame_t *f);
    void (*close)(void *ctx);
} bl_transport_ops_t;

typedef struct {
    uint64_t rx, tx;             /* frames (error frames included in rx) */
    uint64_t rx_bad;             /* malformed items skipped: capture lines, slcan garbage */
    uint32_t bad[BL_REJ_COUNT];  /* rx_bad by cause */
    uint64_t rx_err_frames;      /* CAN error frames seen */
    uint64_t rx_drop;            /* frames lost before we could read them (queue overflow) */
    uint64_t tx_fail;            /* frames not sent: refused by the adapter, queue full, link down */
    uint64_t nak;                /* slcan: commands or frames the adapter answered with BEL */
    uint64_t warning, passive, bus_off; /* times the bus entered these states */
    uint64_t reconnects;         /* successful bl_transport_reopen() calls */
} bl_transport_stats_t;

struct bl_transport {
    const bl_transport_ops_t *ops;
    void *ctx;
    char uri[256];
    unsigned fmt;           /* capture format asked for at open (bl_capfmt_t) */
    unsigned cap_fmt;       /* #12: capture files: the format being read (bl_capfmt_t; BL_FMT_AUTO until known) */
    const char *kind;       /* "file", "socketcan", "slcan", "virtual", ... */
    bool live;              /* reads honour timeouts and time is the wall clock (not a regular file) */
    bool binary;            /* #12: a capture read as records (pcap, pcapng): line counts packets */
    int fd;                 /* readable when a read may return something; -1 when there is none */
    uint64_t line;          /* capture files: line number of the last item read */
    uint64_t offset;        /* #12: binary captures: file offset of the record read last */
    char bus[BL_BUS_NAME_MAX]; /* interface name written into logs and JSON ("can0", "slcan0", "vcan0") */
    uint32_t bitrate;       /* bit/s when the transport knows it (slcan sets it), 0 otherwise */
    const char *ts_source;  /* "hardware", "kernel", "adapter", "host" or "capture" */
    uint8_t bus_state;      /* bl_bus_state_t from error frames / adapter status */
    bool down;              /* the link is down (interface down, adapter gone) */
    char info[48];          /* what the device says it is ("adapter version V1013"), may be empty */
    bl_transport_stats_t stats;
    char err[192];          /* detail of the last failure or state change */
    uint32_t err_classes;   /* error-frame classes seen so far (each is noted once) */
    /* Called for every state change worth telling a user (bus-off, link down,
     * adapter refused a command, ...). NULL: the text is only kept in err. */
    void (*notify)(void *user, bl_transport_t *t, const char *text);
    void *notify_user;
    bl_recorder_t *rec;     /* every frame read or written is also logged here (not owned) */
};

/*
 * Open a source/sink by URI: PATH, file:PATH or - (capture file), and the live
 * backends that this build has. fmt forces a capture format (BL_FMT_AUTO detects).
 * @retval 0           opened
 * @retval BL_EINVAL   the URI does not parse (errbuf says why): a usage error
 * @retval BL_ENOTSUP  a scheme this build cannot open (errbuf says which)
 * @retval other < 0   cannot open (errbuf says why): an I/O error
 */
int bl_transport_open(bl_transport_t *t, const char *uri, unsigned fmt, char *errbuf, size_t errlen);
/* See bl_transport_ops_t.read. Counts, records and tracks the bus state. */
int bl_transport_read(bl_transport_t *t, bl_cap_frame_t *f, int timeout_ms, bl_line_err_t *err);
/* See bl_transport_ops_t.write. BL_ENOTSUP for read-only sources (capture files). */
int bl_transport_write(bl_transport_t *t, const bl_cap_frame_t *f);
/* Close the backend; stats, uri and err stay readable. Safe to call twice. */
void bl_transport_close(bl_transport_t *t);
/*
 * Close and open the same URI again (a device that went away and came back).
 * Keeps stats (reconnects + 1), notify and the recorder.
 * @retval 0 reopened  @retval < 0 as bl_transport_open; t stays closed
 */
int bl_transport_reopen(bl_transport_t *t, char *errbuf, size_t errlen);
/* Attach a recorder (NULL detaches). Frames are logged after a successful read or write. */
void bl_transport_set_recorder(bl_transport_t *t, bl_recorder_t *rec);

/* Where the last item came from, for messages: "URI:LINE" (text captures), "URI:offset N"
 * (binary captures: the record's byte offset), "URI" (live sources). Returns buf. */
const char *bl_transport_where(const bl_transport_t *t, char *buf, size_t n);

/* Scheme of a URI as bl_transport_open sees it: "file", "socketcan", "slcan",
 * "serial", "modbus-rtu", "modbus-tcp", "virtual", "sim". */
const char *bl_transport_scheme(const char *uri);

/* ---- for backends ----------------------------------------------------- */

/* Record a state change: formats into t->err and calls t->notify. */
void bl_transport_note(bl_transport_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* New bus state (from an error frame or adapter status): counts entries into
 * warning/passive/bus-off and notes every change. */
void bl_transport_set_bus_state(bl_transport_t *t, bl_bus_state_t s);
/* Account for an error frame: stats, bus state, overflow drops. */
void bl_transport_error_frame(bl_transport_t *t, const bl_can_frame_t *f);
/* Count a malformed item. */
void bl_transport_bad(bl_transport_t *t, bl_reject_t why);

typedef int (*bl_transport_open_fn)(bl_transport_t *t, const char *rest, char *errbuf, size_t errlen);
int bl_socketcan_open(bl_transport_t *t, const char *iface, char *errbuf, size_t errlen);
int bl_slcan_open(bl_transport_t *t, const char *spec, char *errbuf, size_t errlen);
int bl_vbus_open(bl_transport_t *t, const char *name, char *errbuf, size_t errlen);

/* ---- slcan URI ----------------------------------------------------------- */

typedef struct {
    char dev[128];
    uint32_t bitrate;   /* CAN bit/s, one of bl_slcan_bitrates() */
    uint32_t tty_baud;  /* serial line speed (USB adapters ignore it), default 115200 */
    bool bitrate_given; /* "@BITRATE" was in the URI */
    bool listen_only;   /* ",listen": open with L (no ACKs, no sending) */
} bl_slcan_cfg_t;

/* "DEV[@BITRATE][,tty=BAUD][,listen]" -> cfg. BL_EINVAL with *why set when it does not parse. */
int bl_slcan_parse(const char *spec, bl_slcan_cfg_t *cfg, const char **why);
/* "IFACE": 1..15 characters, no '/', ':' or blanks. BL_EINVAL with *why otherwise. */
int bl_socketcan_parse(const char *iface, const char **why);
/* "NAME": 1..31 characters of [A-Za-z0-9_.-]. BL_EINVAL with *why otherwise. */
int bl_vbus_parse(const char *name, const char **why);

/* ---- recorder: candump -L, or the format of the file's extension ------------- */

/* Open FILE for writing (truncates): .asc, .trc, .csv (GVRET), .pcap, .pcapng in that format, any
 * other name as candump -L lines. NULL with errbuf set on failure. */
bl_recorder_t *bl_recorder_open(const char *path, char *errbuf, size_t errlen);
/* Frames come from a capture (bmslink convert): one without a timestamp keeps none (the
 * writer gives it the previous frame's time and counts it), and nothing is written out on a
 * timer (only when the 64 KiB buffer fills, and on close). */
#define BL_REC_CAPTURE_TIME 1u
/* Open path ("-" = stdout) for format fmt (bl_capfmt_t with a writer; ver: TRC 11, 20 or 21). */
bl_recorder_t *bl_recorder_open_fmt(const char *path, unsigned fmt, unsigned ver, unsigned flags, char *errbuf,
                                    size_t errlen);
/* The writer, for what it could not hold (loss) and the buses it saw. */
const bl_capw_t *bl_recorder_writer(const bl_recorder_t *r);
/* Format a file name's extension names (BL_FMT_COUNT when none): .log .candump .asc .trc .csv
 * .pcap .cap .pcapng .ntar; *ver gets the TRC version (may be NULL). */
unsigned bl_capfmt_by_ext(const char *path, unsigned *ver);
/* Append one frame (buffered; written at 64 KiB, every 500 ms of reads, and on close). */
void bl_recorder_add(bl_recorder_t *r, const bl_cap_frame_t *f);
/* Write out what is buffered if 500 ms passed since the last write-out. */
void bl_recorder_tick(bl_recorder_t *r);
/* Write out what is buffered. 0, or -errno of the first failed write (latched). */
int bl_recorder_flush(bl_recorder_t *r);
/* Flush and close. 0, or < 0 with errbuf saying what was lost and why. NULL is ignored. */
int bl_recorder_close(bl_recorder_t *r, char *errbuf, size_t errlen);
/* Frames handed to bl_recorder_add so far. */
uint64_t bl_recorder_frames(const bl_recorder_t *r);
const char *bl_recorder_path(const bl_recorder_t *r);

/* ---- replay (issue #12): a capture onto a bus with its timing, like canplayer ---- */

typedef struct {
    double speed;          /* 1 the capture's own timing, 2 twice as fast, 0.5 half; 0 as fast as the bus takes them */
    bool loop;             /* start over at the end: the first frame follows the last after the mean gap */
    uint64_t count;        /* stop after this many frames sent (0: no limit) */
    uint64_t max_gap_us;   /* silences in the capture longer than this are cut to it (0: kept) */
    const char *bus;       /* only the capture's frames of this bus (NULL: all) */
    bool errors;           /* send error frames too (only the virtual bus can deliver them) */
    bool (*stop)(void);    /* asked at least every 200 ms while waiting; true ends the replay */
    /* a malformed item of the capture (counted, skipped); may be NULL */
    void (*bad)(void *user, const bl_transport_t *in, const bl_line_err_t *e);
    /* a frame handed to the bus at sent_ns, due at due_ns (CLOCK_MONOTONIC); may be NULL */
    void (*sent)(void *user, const bl_cap_frame_t *f, uint64_t due_ns, uint64_t sent_ns);
    void *user;
} bl_replay_opts_t;

#define BL_REPLAY_HIST 2000 /* lateness buckets: 0..999 µs by 1 µs, 1..1000 ms by 1 ms */

typedef struct {
    uint64_t read;         /* frames read from the capture (all passes) */
    uint64_t sent;         /* frames the bus took */
    uint64_t not_sent;     /* refused by the bus (e.g. CAN FD on a classic adapter) or its queue stayed full */
    uint64_t skipped_bus, skipped_err; /* other buses (--bus), error frames (without errors) */
    uint64_t bad;          /* malformed capture items */
    uint64_t passes;       /* times the capture was played (loop) */
    uint64_t span_us;      /* first to last timestamp of one pass */
    uint64_t wall_ns;      /* first frame sent to the last */
    uint64_t late_max_ns;  /* the latest a frame went out after its due time */
    uint32_t late[BL_REPLAY_HIST];
    char err[192];         /* why the last frame was not sent */
} bl_replay_stats_t;

/*
 * Play the capture at uri (any capture format; fmt forces one) onto out. Frame i is due at
 * start + (ts_i - ts_0) / speed on CLOCK_MONOTONIC; frames without a timestamp, or older than
 * the one before, follow the previous frame at once.
 * @retval 0          played to the end, to count, or until stop()
 * @retval BL_EIO     out went away (errbuf says why); st holds what happened until then
 * @retval other < 0  the capture cannot be opened (errbuf): BL_EINVAL is a usage error
 */
int bl_replay(const char *uri, unsigned fmt, bl_transport_t *out, const bl_replay_opts_t *o, bl_replay_stats_t *st,
              char *errbuf, size_t errlen);
/* Lateness (sent after due) at percentile pct (0..100), in ns, to the histogram's resolution. */
uint64_t bl_replay_late_ns(const bl_replay_stats_t *st, unsigned pct);

/* ---- clocks (hosted) ---------------------------------------------------- */

uint64_t bl_clock_wall_us(void); /* CLOCK_REALTIME, microseconds since the epoch */
uint64_t bl_clock_mono_ms(void); /* CLOCK_MONOTONIC, milliseconds */
uint64_t bl_clock_mono_ns(void);

/* ---- capture files, line by line (used by the file backend and by RS485 hex captures) ---- */

#define BL_LINE_MAX 4096

typedef struct {
    int fd;
    bool own_fd;
    bool eof;
    bool too_long;     /* the last line was longer than BL_LINE_MAX and was cut */
    bool skipping;     /* inside the rest of an overlong line */
    uint64_t line;     /* number of the line last returned, 1-based */
    size_t len, pos;   /* valid bytes in buf, parse position */
    char *buf;         /* heap, BL_LR_BUF bytes */
} bl_linereader_t;

/* path "-" reads stdin. Returns 0 or -errno. */
int bl_lr_open(bl_linereader_t *r, const char *path);
/* 1 = *line and *len hold the next line (no line end); 0 = end of file; < 0 = -errno */
int bl_lr_next(bl_linereader_t *r, const char **line, size_t *len);
/* true when bl_lr_next can return without reading (a whole line is buffered, or end of file) */
bool bl_lr_ready(const bl_linereader_t *r);
/* Binary files: make want bytes available at buf + pos (fewer at the end of the file; want is
 * capped at half the buffer). once: a single read (after poll() on a live source).
 * Returns the bytes available, or -errno. */
ssize_t bl_lr_fill(bl_linereader_t *r, size_t want, bool once);
/* Skip n bytes, reading past the buffer when needed. 0, 1 when the file ended first, -errno. */
int bl_lr_skip(bl_linereader_t *r, uint64_t n);
void bl_lr_close(bl_linereader_t *r);

#endif
