/*
 * Capture text formats, one line at a time: candump -L logs
 * "(1700000000.123456) can0 351#1402...", candump's default output with or
 * without timestamps ("  can0  351   [8]  14 02 ..."), Vector ASC
 * ("   0.002000 1  351   Rx   d 8 14 02 ..."), PEAK PCAN-View TRC (1.0 to 1.3,
 * 2.0, 2.1) and SavvyCAN/GVRET CSV. Pure: the caller reads the file and hands
 * over lines (without the line end).
 *
 * Binary captures (pcap, pcapng of SocketCAN frames) are records, not lines:
 * bl_pcap_next() parses one record at the start of a buffer the caller fills.
 * Writers for every format (bl_capw_*) fill caller buffers too.
 */
#ifndef BMSLINK_CAPTURE_H
#define BMSLINK_CAPTURE_H

#include "bmslink/base.h"
#include "bmslink/frame.h"

typedef enum {
    BL_FMT_AUTO = 0,
    BL_FMT_CANDUMP_LOG, /* candump -L / -l, python-can .log */
    BL_FMT_CANDUMP,     /* candump default output, any -t mode, -x, -a */
    BL_FMT_ASC,         /* Vector ASC (log2asc) */
    BL_FMT_HEX485,      /* RS485 bytes as hex lines */
    /* ---- issue #12: more capture formats ---- */
    BL_FMT_TRC,         /* PEAK PCAN-View / PCAN-Explorer .trc, versions 1.0-1.3 and 2.0-2.1 */
    BL_FMT_GVRET,       /* SavvyCAN native CSV ("GVRET"): Time Stamp,ID,Extended,Dir,Bus,LEN,D1.. */
    BL_FMT_PCAP,        /* libpcap file, SocketCAN link types (binary) */
    BL_FMT_PCAPNG,      /* pcapng file, SocketCAN interfaces (binary) */
    BL_FMT_COUNT
} bl_capfmt_t;

const char *bl_capfmt_str(unsigned fmt); /* "candump", "asc", ... ("auto") */
/* Format by --format name: "candump" (both candump styles), "log", "asc", "hex485", "trc", "gvret" (or
 * "csv", "savvycan"), "pcap", "pcapng"; BL_FMT_COUNT when unknown. */
unsigned bl_capfmt_by_name(const char *name);
/* true for the formats read as records (pcap, pcapng) rather than lines */
bool bl_capfmt_binary(unsigned fmt);

#define BL_BUS_NAME_MAX 16

typedef struct {
    uint64_t ts_us;  /* capture time, microseconds */
    uint8_t has_ts;  /* 0: the line had no timestamp */
    char dir;        /* 'R' received, 'T' transmitted, 0 unknown */
    char bus[BL_BUS_NAME_MAX];
    bl_can_frame_t f;
} bl_cap_frame_t;

typedef struct {
    bl_reject_t why;  /* BL_REJ_SYNTAX, BL_REJ_LENGTH */
    const char *what; /* static text naming what is wrong */
    uint16_t col;     /* 1-based column where it went wrong; 0 in binary records (the caller knows the offset) */
} bl_line_err_t;

#define BL_TRC_MAX_COLS 12

/* Per-file parser state (ASC: its date header; TRC: version, start time, columns; GVRET: columns). */
typedef struct {
    bl_capfmt_t fmt;
    uint64_t asc_base_us; /* ASC "date" header as epoch µs, 0 when absent */
    /* ---- TRC ---- */
    uint8_t trc_ver;      /* 10 (no $FILEVERSION), 11, 12, 13, 20, 21 */
    uint8_t trc_ncols;    /* columns of $COLUMNS (2.x); 0 until given */
    char trc_cols[BL_TRC_MAX_COLS];
    uint64_t trc_base_us; /* $STARTTIME as epoch µs (read as UTC), 0 when absent */
    /* ---- GVRET CSV ---- */
    uint8_t gv_dir;       /* 0 not known yet (no header), 1 the rows have a Dir column, 2 they do not */
} bl_capture_t;

void bl_capture_init(bl_capture_t *c, bl_capfmt_t fmt);

/*
 * Parse one line. In BL_FMT_AUTO the first line that parses fixes the format.
 * @retval 1           *out holds a frame
 * @retval 0           nothing to decode (blank, comment, header, continuation)
 * @retval BL_EBADMSG  err says why; *out undefined
 */
int bl_capture_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err);

/* Which format a line looks like (BL_FMT_AUTO when none). */
bl_capfmt_t bl_capture_sniff(const char *line, size_t len);

/* Write f as a candump -L line (no newline) into buf. Returns the length, or BL_ENOSPC. */
int bl_capture_format_log(const bl_cap_frame_t *f, char *buf, size_t size);

/* Days-from-civil helper shared by the date parsers: UTC epoch seconds. */
int64_t bl_epoch_from_civil(int year, unsigned month, unsigned day, unsigned h, unsigned m, unsigned s);

/* ---- issue #12: TRC, GVRET CSV (lines; used by bl_capture_parse) ---------------------- */

/* One TRC line (header comments included: they set the version, start time and columns). */
int bl_trc_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err);
/* One GVRET CSV line (the header line sets the columns). */
int bl_gvret_parse(bl_capture_t *c, const char *line, size_t len, bl_cap_frame_t *out, bl_line_err_t *err);
/* Does a line look like TRC / GVRET CSV? (bl_capture_sniff uses them) */
bool bl_trc_sniff(const char *line, size_t len);
bool bl_gvret_sniff(const char *line, size_t len);
/* "43105.5502283796" (days since 1899-12-30, a fraction of a day) -> epoch µs, rounded. false when malformed. */
bool bl_trc_parse_starttime(const char *s, size_t len, uint64_t *us);

/* ---- issue #12: pcap / pcapng records ------------------------------------------------- */

/* Link types carrying SocketCAN frames (tcpdump.org link-layer header types). */
#define BL_LINKTYPE_LINUX_SLL 113u        /* cooked capture: CAN when the protocol is 0x000C / 0x000D */
#define BL_LINKTYPE_CAN_SOCKETCAN 227u    /* the CAN header, id in network byte order */
#define BL_LINKTYPE_WIRESHARK_UPPER_PDU 252u /* tshark's export of candump logs: "can-hostendian", "canfd" */
#define BL_LINKTYPE_LINUX_SLL2 276u

#define BL_PCAP_MAX_IF 32
/* The longest record bl_pcap_next asks to see whole; larger ones are skipped unread or rejected. */
#define BL_PCAP_BLOCK_MAX 65536u

typedef struct {
    uint16_t linktype;
    uint8_t can;        /* a link type with CAN frames (else its packets are counted and skipped) */
    uint8_t tsres;      /* if_tsresol: 10^-tsres s, or 2^-tsres s when tsres_pow2 */
    uint8_t tsres_pow2;
    int64_t tsoff_s;    /* if_tsoffset */
    char name[BL_BUS_NAME_MAX]; /* if_name, "" when not given */
} bl_pcap_if_t;

typedef struct {
    uint8_t kind;       /* 0 before the file header, 1 pcap, 2 pcapng */
    uint8_t be;         /* the file (pcapng: this section) is big endian */
    uint8_t nsec;       /* pcap: nanosecond timestamps */
    uint32_t snaplen;
    uint32_t nif;       /* pcapng: interfaces described in this section (pcap: 1, the file's link type) */
    bl_pcap_if_t ifs[BL_PCAP_MAX_IF];
    uint64_t packets;   /* packet records so far, numbered from 1 as Wireshark numbers frames */
    uint64_t other;     /* packets on interfaces that do not carry CAN (skipped) */
} bl_pcap_t;

void bl_pcap_init(bl_pcap_t *p);
/* Format of a file from its first bytes: BL_FMT_PCAP, BL_FMT_PCAPNG, or BL_FMT_AUTO (neither). */
bl_capfmt_t bl_pcap_sniff(const uint8_t *buf, size_t len);
/* Human name of a link type ("Ethernet", "SocketCAN", ...; "unknown" otherwise). */
const char *bl_linktype_str(unsigned linktype);

/*
 * Parse the record that starts at buf[0] (the file header first, then one record per call).
 * Never reads outside buf[0..len). *adv is what the record takes in the file.
 * @retval 1           *out holds a frame; advance *adv bytes
 * @retval 0           a record without a frame (header, interface, statistics, a packet of a
 *                     non-CAN interface); advance *adv bytes, which may be more than len: the
 *                     record is skipped without being read
 * @retval BL_EAGAIN   call again with at least *adv bytes (never more than BL_PCAP_BLOCK_MAX);
 *                     at the end of the file this means the file is truncated
 * @retval BL_EBADMSG  err says why; advance *adv bytes and go on, or stop when *adv is 0 (the
 *                     record lengths are lost: nothing after this point can be found)
 */
int bl_pcap_next(bl_pcap_t *p, const uint8_t *buf, size_t len, size_t *adv, bl_cap_frame_t *out, bl_line_err_t *err);

/* ---- issue #12: writing captures ------------------------------------------------------- */

#define BL_CAPW_MAX_BUS 16u
/* Room one bl_capw_* call may need (a TRC header is the largest). */
#define BL_CAPW_ROOM 2048u

/* What a target format could not hold, counted per frame (convert prints it). */
typedef struct {
    uint64_t no_ts;          /* frames without a timestamp: written at the previous frame's time (0 first) */
    uint64_t ts_rounded;     /* timestamps rounded to the format's resolution (TRC 1.1: 0.1 ms) */
    uint64_t ts_backwards;   /* earlier than the file's start time: written at the start (TRC, ASC) */
    uint64_t bus_renamed;    /* bus names the format cannot hold (it has channel numbers, or none) */
    uint64_t dir_lost;       /* transmitted (Tx) frames the format cannot mark: they read back as received */
    uint64_t fd_flags_lost;  /* CAN FD bit-rate switch / error state indicator not kept */
    uint64_t fd_as_classic;  /* CAN FD frames of <= 8 bytes whose FD mark is lost */
    uint64_t dropped_fd;     /* CAN FD frames the format cannot hold at all */
    uint64_t dropped_rtr;    /* remote frames the format cannot hold */
    uint64_t dropped_err;    /* error frames the format cannot hold (or only their bus state) */
    uint64_t err_reduced;    /* error frames written with less detail (TRC: bus state / error type only) */
} bl_capw_loss_t;

typedef struct {
    bl_capfmt_t fmt;
    uint8_t ver;             /* TRC: 11, 20, 21 */
    bool started;            /* header written */
    uint64_t base_us;        /* ASC, TRC: the time the header names (first frame) */
    uint64_t last_us;        /* last timestamp written (frames without one get it) */
    uint64_t n;              /* frames written (TRC message numbers) */
    char bus[BL_CAPW_MAX_BUS][BL_BUS_NAME_MAX]; /* bus names in order of appearance */
    uint8_t chan[BL_CAPW_MAX_BUS];              /* channel / interface number each is written as */
    uint8_t nbus;
    bl_capw_loss_t loss;
} bl_capw_t;

/* fmt: BL_FMT_CANDUMP_LOG, BL_FMT_ASC, BL_FMT_TRC (ver 11, 20 or 21; 0 = 21), BL_FMT_GVRET, BL_FMT_PCAP,
 * BL_FMT_PCAPNG. BL_EINVAL for formats that have no writer. */
int bl_capw_init(bl_capw_t *w, bl_capfmt_t fmt, unsigned ver);
/*
 * Write f (and the file header before the first frame, a pcapng interface block before the first
 * frame of a new bus). size should be BL_CAPW_ROOM. Returns the bytes written: 0 when the format
 * cannot hold the frame (counted in w->loss), BL_ENOSPC when buf is too small.
 */
int bl_capw_frame(bl_capw_t *w, const bl_cap_frame_t *f, uint8_t *buf, size_t size);
/* The end of the file (and its header when no frame came). Bytes written or BL_ENOSPC. */
int bl_capw_trailer(bl_capw_t *w, uint8_t *buf, size_t size);
/* How bus i of w->bus reads back from the written file ("can0" for channel 1 of an ASC file). */
void bl_capw_bus_readback(const bl_capw_t *w, unsigned i, char *out, size_t size);

#endif
