/* Helpers for the CAN family specs: frames from vector hex, codecs by name. */
#ifndef BL_TESTS_CANTEST_H
#define BL_TESTS_CANTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bmslink/protocol.h"

/* A frame as a vector file writes it: id, 29-bit or not, data hex ("" for DLC 0). */
static inline bl_can_frame_t vec(uint32_t id, int ext, const char *hex)
{
    bl_can_frame_t f;
    size_t n = strlen(hex) / 2;
    memset(&f, 0, sizeof f);
    f.id = id;
    f.flags = ext ? BL_CAN_EXT : 0;
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        char hi = hex[2 * i], lo = hex[2 * i + 1];
        unsigned v = (unsigned)(hi <= '9' ? hi - '0' : hi - 'A' + 10) * 16u +
                     (unsigned)(lo <= '9' ? lo - '0' : lo - 'A' + 10);
        f.data[i] = (uint8_t)v;
    }
    f.len = (uint8_t)n;
    return f;
}

static inline void codec_for(bl_can_codec_t *c, const char *name)
{
    const bl_protocol_t *p = bl_protocol_find(name);
    assert_non_null(p);
    assert_int_equal(bl_can_codec_init(c, p), 0);
}

/* Decode a vector frame into r; it must be accepted. */
static inline bl_decoded_t decode_ok(bl_can_codec_t *c, const char *hex, uint32_t id, int ext, bl_record_t *r)
{
    bl_can_frame_t f = vec(id, ext, hex);
    bl_decoded_t d;
    int rc = bl_can_decode(c, &f, 1000, r, &d);
    if (rc != 0)
        print_error("0x%X %s rejected: %s (row %u)\n", (unsigned)id, hex, bl_reject_str(d.why), d.sig);
    assert_int_equal(rc, 0);
    return d;
}

/* The decode of a frame that must be rejected; returns the reason. */
static inline bl_reject_t decode_bad(bl_can_codec_t *c, const char *hex, uint32_t id, int ext)
{
    bl_can_frame_t f = vec(id, ext, hex);
    bl_decoded_t d;
    bl_record_t r;
    bl_record_init(&r);
    assert_int_equal(bl_can_decode(c, &f, 1000, &r, &d), BL_EBADMSG);
    return d.why;
}

/* Encode the message with that id (and direction) from r; returns the frame. */
static inline bl_can_frame_t encode_ok(const bl_can_codec_t *c, uint32_t id, int ext, unsigned dir, unsigned mux,
                                       const bl_record_t *r, bl_encoded_t *res)
{
    const bl_message_t *m = bl_can_msg(c, id, (unsigned)ext, dir);
    bl_can_frame_t f;
    assert_non_null(m);
    assert_int_equal(bl_can_encode(c, m, mux, r, 1000, 0, 0, &f, res), 0);
    return f;
}

/* Bytes of a frame against vector hex. */
static inline void assert_bytes(const bl_can_frame_t *f, const char *hex)
{
    bl_can_frame_t want = vec(0, 0, hex);
    assert_int_equal(f->len, want.len);
    assert_memory_equal(f->data, want.data, want.len);
}

#define VALUE(r, fld) ((r).f[fld].value)
#define VALID(r, fld) ((r).f[fld].valid)

#endif
