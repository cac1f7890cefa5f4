/* Names for error codes and reject reasons. */
#include "bmslink/base.h"

const char *bl_strerror(int err)
{
    switch (err) {
    case BL_OK: return "success";
    case BL_ENOENT: return "not found";
    case BL_EIO: return "input/output error";
    case BL_EAGAIN: return "try again";
    case BL_ENOMEM: return "capacity too small";
    case BL_EBUSY: return "device busy";
    case BL_EINVAL: return "invalid argument";
    case BL_ENOSPC: return "no space left in buffer";
    case BL_ERANGE: return "value out of range";
    case BL_ENOTSUP: return "not supported";
    case BL_EBADMSG: return "frame rejected";
    case BL_ETIMEDOUT: return "timed out";
    default: return "unknown error";
    }
}

const char *bl_reject_str(bl_reject_t why)
{
    static const char *const s[BL_REJ_COUNT] = {
        [BL_REJ_NONE] = "none",
        [BL_REJ_LENGTH] = "dlc",
        [BL_REJ_UNKNOWN_ID] = "unknown_id",
        [BL_REJ_ID_LENGTH] = "id_length",
        [BL_REJ_RANGE] = "range",
        [BL_REJ_REMOTE] = "remote_frame",
        [BL_REJ_ERROR_FRAME] = "error_frame",
        [BL_REJ_CHECKSUM] = "checksum",
        [BL_REJ_SYNTAX] = "malformed_line",
        [BL_REJ_TOO_LONG] = "line_too_long",
        [BL_REJ_RESERVED] = "reserved_bits",
    };
    return (unsigned)why < BL_REJ_COUNT ? s[why] : "unknown";
}
