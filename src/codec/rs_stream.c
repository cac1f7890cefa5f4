/*
 * The byte-stream framer for RS485/UART protocols, and their checksums.
 *
 * Bytes arrive in any chunking; the framer keeps the frame being assembled in
 * the caller's buffer and decides, from the bytes alone, when a frame is
 * complete, rejected or noise. Every decision depends only on the byte
 * sequence, never on where a chunk ended, so feeding one byte at a time or
 * 4 KiB at once gives the same events (tests/unit/test_rs_stream.c proves it
 * at every split point of every vector).
 */
#include "bmslink/rs485.h"

#include <string.h>

/* ---- checksums --------------------------------------------------------- */

uint8_t bl_pyl_lchksum(uint16_t lenid)
{
    unsigned sum = (lenid & 0xFu) + ((lenid >> 4) & 0xFu) + ((lenid >> 8) & 0xFu);
    /* "invert, add 1, keep 4 bits": a multiple of 16 gives 0, never 16 (rs485-pylontech.md §3) */
    return (uint8_t)((16u - (sum & 0xFu)) & 0xFu);
}

uint16_t bl_pyl_chksum(const uint8_t *ascii, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += ascii[i];
    return (uint16_t)((~sum + 1u) & 0xFFFFu);
}

uint8_t bl_sum8(const uint8_t *d, size_t n)
{
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    return (uint8_t)(sum & 0xFFu);
}

uint16_t bl_sum16(const uint8_t *d, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    return (uint16_t)(sum & 0xFFFFu);
}

uint16_t bl_jbd_sum16(const uint8_t *d, size_t n)
{
    return (uint16_t)((0x10000u - bl_sum16(d, n)) & 0xFFFFu);
}

const char *bl_rsr_str(unsigned why)
{
    static const char *const s[BL_RSR_COUNT] = {
        [BL_RSR_NONE] = "none",
        [BL_RSR_CHECKSUM] = "checksum",
        [BL_RSR_LCHKSUM] = "length_checksum",
        [BL_RSR_LENGTH] = "length",
        [BL_RSR_SYNTAX] = "syntax",
        [BL_RSR_TRUNCATED] = "truncated",
        [BL_RSR_TOO_LONG] = "too_long",
        [BL_RSR_NOISE] = "noise",
        [BL_RSR_ERROR_CODE] = "error_code",
        [BL_RSR_ADDRESS] = "wrong_address",
        [BL_RSR_UNKNOWN_CMD] = "unknown_command",
        [BL_RSR_LAYOUT] = "layout",
        [BL_RSR_RANGE] = "range",
        [BL_RSR_TIMEOUT] = "timeout",
        [BL_RSR_UNSOLICITED] = "unsolicited",
    };
    return why < BL_RSR_COUNT ? s[why] : "unknown";
}

const char *bl_framing_str(unsigned f)
{
    static const char *const s[BL_FRAMING_COUNT] = { "pylon-ascii", "daly-a5", "jbd-dd77", "jk-4e57" };
    return f < BL_FRAMING_COUNT ? s[f] : "unknown";
}

/* ---- framer ------------------------------------------------------------ */

/* Verdict on the bytes assembled so far. */
typedef enum { EV_MORE = 0, EV_DONE, EV_REJECT, EV_FALSE_START } verdict_t;

typedef struct {
    verdict_t v;
    uint8_t why;
    uint32_t got, want;
} eval_t;

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Start bytes of each framing (JK: the first of two). */
static const uint8_t start_byte[BL_FRAMING_COUNT] = { '~', 0xA5, 0xDD, 0x4E };

/*
 * Pylon: the frame ends at CR; a '~' inside means the previous frame was cut
 * (handled by the caller before appending), any other non-hex character is a
 * syntax error. LENID, LCHKSUM and CHKSUM are checked at the CR.
 */
static eval_t eval_pylon(const uint8_t *b, size_t len)
{
    eval_t e = { EV_MORE, 0, 0, 0 };
    uint8_t last = b[len - 1];

    if (len == 1)
        return e;
    if (last == '\r') {
        uint8_t info[1];
        bl_pyl_frame_t f;
        bl_rsr_t why;
        /* parse checks everything; INFO bytes are not needed here */
        if (bl_pyl_parse(b, len, info, 0, &f, &why, &e.got, &e.want) < 0 && why != BL_RSR_TOO_LONG) {
            e.v = EV_REJECT;
            e.why = (uint8_t)why;
            return e;
        }
        e.v = EV_DONE;
        return e;
    }
    if (!is_hex(last)) {
        e.v = EV_REJECT;
        e.why = BL_RSR_SYNTAX;
        e.got = last;
        return e;
    }
    if (len > BL_STREAM_PYLON_MAX) {
        e.v = EV_REJECT;
        e.why = BL_RSR_TOO_LONG;
        e.got = (uint32_t)len;
        e.want = BL_STREAM_PYLON_MAX;
    }
    return e;
}

/* Daly: A5 addr id 08 data[8] sum8 (rs485-daly-jbd.md §1.2) */
static eval_t eval_daly(const uint8_t *b, size_t len)
{
    eval_t e = { EV_MORE, 0, 0, 0 };
    if (len >= 4 && b[3] != 0x08) {
        e.v = EV_REJECT;
        e.why = BL_RSR_LENGTH;
        e.got = b[3];
        e.want = 8;
        return e;
    }
    if (len < 13)
        return e;
    e.got = b[12];
    e.want = bl_sum8(b, 12);
    e.v = e.got == e.want ? EV_DONE : EV_REJECT;
    e.why = BL_RSR_CHECKSUM;
    return e;
}

/* JBD: DD b1 b2 len data sum16 77 (rs485-daly-jbd.md §2.2). A request has
 * b1 = A5 (read) / 5A (write); a response has status b2 = 00 / 80. */
static eval_t eval_jbd(const uint8_t *b, size_t len)
{
    eval_t e = { EV_MORE, 0, 0, 0 };
    size_t total;
    if (len >= 3 && b[1] != 0xA5 && b[1] != 0x5A && b[2] != 0x00 && b[2] != 0x80) {
        e.v = EV_REJECT;
        e.why = BL_RSR_SYNTAX;
        e.got = b[2];
        return e;
    }
    if (len < 4)
        return e;
    total = 4u + b[3] + 3u;
    if (len < total)
        return e;
    if (b[total - 1] != 0x77) {
        e.v = EV_REJECT;
        e.why = BL_RSR_LENGTH; /* the end byte is not where the length byte puts it */
        e.got = b[total - 1];
        e.want = 0x77;
        return e;
    }
    e.got = (uint32_t)b[total - 3] << 8 | b[total - 2];
    e.want = bl_jbd_sum16(b + 2, total - 5);
    e.v = e.got == e.want ? EV_DONE : EV_REJECT;
    e.why = BL_RSR_CHECKSUM;
    return e;
}

/* JK 4E57: LENGTH = frame length - 2; ... 68, then 00 00 and the 16-bit sum of
 * every byte from 4E through 68 (rs485-daly-jbd.md §3). */
static eval_t eval_jk(const uint8_t *b, size_t len, size_t cap)
{
    eval_t e = { EV_MORE, 0, 0, 0 };
    size_t total;
    if (len >= 2 && b[1] != 0x57) {
        e.v = EV_FALSE_START; /* a lone 'N' in other traffic */
        return e;
    }
    if (len < 4)
        return e;
    total = ((size_t)b[2] << 8 | b[3]) + 2u;
    if (total < 20) {
        e.v = EV_REJECT;
        e.why = BL_RSR_LENGTH;
        e.got = (uint32_t)total;
        e.want = 20;
        return e;
    }
    if (total > cap) {
        e.v = EV_REJECT;
        e.why = BL_RSR_TOO_LONG;
        e.got = (uint32_t)total;
        e.want = (uint32_t)cap;
        return e;
    }
    if (len < total)
        return e;
    if (b[total - 5] != 0x68) {
        e.v = EV_REJECT;
        e.why = BL_RSR_LENGTH;
        e.got = b[total - 5];
        e.want = 0x68;
        return e;
    }
    e.got = (uint32_t)b[total - 4] << 24 | (uint32_t)b[total - 3] << 16 | (uint32_t)b[total - 2] << 8 |
            b[total - 1];
    e.want = bl_sum16(b, total - 4);
    e.v = e.got == e.want ? EV_DONE : EV_REJECT;
    e.why = BL_RSR_CHECKSUM;
    return e;
}

static eval_t evaluate(const bl_stream_t *s)
{
    switch (s->framing) {
    case BL_FRAMING_PYLON: return eval_pylon(s->buf, s->len);
    case BL_FRAMING_DALY: return eval_daly(s->buf, s->len);
    case BL_FRAMING_JBD: return eval_jbd(s->buf, s->len);
    default: return eval_jk(s->buf, s->len, s->cap);
    }
}

int bl_stream_init(bl_stream_t *s, unsigned framing, uint8_t *buf, size_t cap, bl_stream_cb_t cb, void *ctx)
{
    memset(s, 0, sizeof *s);
    if (framing >= BL_FRAMING_COUNT || buf == NULL || cap < BL_STREAM_BUF_MIN || cb == NULL)
        return BL_EINVAL;
    s->framing = (uint8_t)framing;
    s->buf = buf;
    s->cap = cap;
    s->cb = cb;
    s->ctx = ctx;
    return 0;
}

static void emit(bl_stream_t *s, uint8_t kind, uint8_t why, const uint8_t *d, size_t n, uint64_t off,
                 uint32_t got, uint32_t want)
{
    bl_stream_ev_t ev = { kind, why, d, n, off, got, want };
    s->cb(s->ctx, &ev);
}

/* Report the noise run (if any) before the next event: noise is reported lazily so
 * that a false start (JK's lone 'N') joins the run instead of splitting it. */
static void emit_noise(bl_stream_t *s)
{
    if (s->noise == 0)
        return;
    s->noise_bytes += s->noise;
    s->rejected[BL_RSR_NOISE]++;
    emit(s, BL_SEV_NOISE, BL_RSR_NOISE, NULL, s->noise, s->noise_off, 0, 0);
    s->noise = 0;
}

/* Position of the next start byte in buf[from..len), or len. */
static size_t next_start(const bl_stream_t *s, size_t from)
{
    const uint8_t *p = memchr(s->buf + from, start_byte[s->framing], s->len - from);
    return p ? (size_t)(p - s->buf) : s->len;
}

static bool idle_byte(const bl_stream_t *s, uint8_t b)
{
    /* line ends and spaces between ASCII frames are not noise (some senders add LF) */
    return s->framing == BL_FRAMING_PYLON && (b == '\r' || b == '\n' || b == ' ');
}

/* Drop buf[0..k) and make buf[k..len) the candidate: only binary framings need
 * this; the remaining bytes are evaluated again by settle(). */
static void shift(bl_stream_t *s, size_t k)
{
    memmove(s->buf, s->buf + k, s->len - k);
    s->len -= k;
    s->offset += k;
}

/*
 * Evaluate the candidate in buf[0..len) until it needs more bytes: a frame or a
 * reject is emitted; after a reject of a binary frame the bytes after its start
 * byte are searched for the next start and evaluated again.
 */
static void settle(bl_stream_t *s)
{
    while (s->len > 0) {
        eval_t e;
        size_t k;

        if (s->buf[0] != start_byte[s->framing]) {
            /* not a frame start: noise up to the next start byte */
            k = next_start(s, 0);
            for (size_t i = 0; i < k; i++)
                if (!idle_byte(s, s->buf[i]) && s->noise++ == 0)
                    s->noise_off = s->offset + i;
            shift(s, k);
            continue;
        }
        e = evaluate(s);
        if (e.v == EV_MORE)
            return;
        if (e.v == EV_FALSE_START) {
            if (s->noise++ == 0)
                s->noise_off = s->offset;
            shift(s, 1);
            continue;
        }
        emit_noise(s);
        if (e.v == EV_DONE) {
            size_t n = s->len;
            s->frames++;
            emit(s, BL_SEV_FRAME, BL_RSR_NONE, s->buf, n, s->offset, 0, 0);
            s->len = 0;
            s->offset += n;
            return;
        }
        /* reject: a binary frame may hide the real start after its first byte */
        k = s->framing == BL_FRAMING_PYLON ? s->len : next_start(s, 1);
        s->rejected[e.why]++;
        emit(s, BL_SEV_REJECT, e.why, s->buf, k, s->offset, e.got, e.want);
        shift(s, k);
    }
}

void bl_stream_push(bl_stream_t *s, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = data[i];
        s->total++;
        if (s->len == 0) {
            /* hunting: skip to the next start byte without copying */
            if (b != start_byte[s->framing]) {
                if (!idle_byte(s, b) && s->noise++ == 0)
                    s->noise_off = s->total - 1;
                continue;
            }
            s->offset = s->total - 1;
            s->buf[0] = b;
            s->len = 1;
            settle(s);
            continue;
        }
        if (s->framing == BL_FRAMING_PYLON) {
            /* fast path: copy a run of hex characters in one go */
            size_t j = i;
            size_t room = s->cap - s->len;
            while (j < n && j - i < room && is_hex(data[j]) && s->len + (j - i) < BL_STREAM_PYLON_MAX)
                j++;
            if (j > i) {
                memcpy(s->buf + s->len, data + i, j - i);
                s->len += j - i;
                s->total += (uint64_t)(j - i) - 1u;
                i = j - 1;
                continue;
            }
            if (b == '~') {
                /* a new frame starts: the one being assembled was cut short */
                s->rejected[BL_RSR_TRUNCATED]++;
                emit_noise(s);
                emit(s, BL_SEV_REJECT, BL_RSR_TRUNCATED, s->buf, s->len, s->offset, (uint32_t)s->len, 0);
                s->offset = s->total - 1;
                s->buf[0] = b;
                s->len = 1;
                continue;
            }
        }
        if (s->len >= s->cap) {
            s->rejected[BL_RSR_TOO_LONG]++;
            emit_noise(s);
            emit(s, BL_SEV_REJECT, BL_RSR_TOO_LONG, s->buf, s->len, s->offset, (uint32_t)s->len + 1u,
                 (uint32_t)s->cap);
            s->offset += s->len;
            s->len = 0;
            i--; /* look at this byte again, as a possible start */
            s->total--;
            continue;
        }
        s->buf[s->len++] = b;
        settle(s);
    }
}

void bl_stream_flush(bl_stream_t *s)
{
    if (s->len > 0) {
        emit_noise(s);
        s->rejected[BL_RSR_TRUNCATED]++;
        emit(s, BL_SEV_REJECT, BL_RSR_TRUNCATED, s->buf, s->len, s->offset, (uint32_t)s->len, 0);
        s->offset += s->len;
        s->len = 0;
    }
    emit_noise(s);
}
