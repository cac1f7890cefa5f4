/*
 * bmslink — common definitions for every layer: error codes, reject reasons,
 * small helpers. Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>.
 */
#ifndef BMSLINK_BASE_H
#define BMSLINK_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BL_VERSION_STRING "0.1.0"

#define BL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BL_BIT(n) (1UL << (n))
#define BL_NEVER UINT64_MAX

/*
 * Fallible functions return int: >= 0 success (often a count), < 0 one of
 * these. Values match Linux errno so transports can pass -errno through.
 */
enum {
    BL_OK = 0,
    BL_ENOENT = -2,     /* no such protocol / message / file */
    BL_EIO = -5,        /* transport failure */
    BL_EAGAIN = -11,    /* nothing yet, try again */
    BL_ENOMEM = -12,    /* caller-supplied capacity too small */
    BL_EBUSY = -16,     /* device busy */
    BL_EINVAL = -22,    /* bad argument, bad table row, bad URI */
    BL_ENOSPC = -28,    /* output buffer too small */
    BL_ERANGE = -34,    /* value outside the signal's physical or raw range */
    BL_ENOTSUP = -95,   /* this protocol / transport cannot do that */
    BL_EBADMSG = -74,   /* frame rejected; the result says why */
    BL_ETIMEDOUT = -110 /* deadline passed */
};

/* Human text for a BL_E* code (static string, never NULL). */
const char *bl_strerror(int err);

/*
 * Why a frame, line or value was rejected. Instances count rejects by cause
 * (arrays of BL_REJ_COUNT counters, only ever incremented).
 */
typedef enum {
    BL_REJ_NONE = 0,
    BL_REJ_LENGTH,      /* DLC outside the message row's bounds */
    BL_REJ_UNKNOWN_ID,  /* no message row for this id in this protocol */
    BL_REJ_ID_LENGTH,   /* id known, but as 11-bit vs 29-bit the other way */
    BL_REJ_RANGE,       /* decoded value outside the signal's min..max */
    BL_REJ_REMOTE,      /* remote request frame where data was expected */
    BL_REJ_ERROR_FRAME, /* CAN error frame (bus problem) */
    BL_REJ_CHECKSUM,    /* byte protocols: checksum mismatch */
    BL_REJ_SYNTAX,      /* capture line or byte frame does not parse */
    BL_REJ_TOO_LONG,    /* capture line longer than any valid line */
    BL_REJ_RESERVED,    /* reserved / constant bits carry unexpected values */
    BL_REJ_COUNT
} bl_reject_t;

/* Stable snake_case key of a reject reason ("dlc", "unknown_id", ...). */
const char *bl_reject_str(bl_reject_t why);

#endif
