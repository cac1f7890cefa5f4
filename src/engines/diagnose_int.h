/* The diagnosis engine's internals: what the analysers share (src/engines/diagnose*.c). */
#ifndef BL_DIAGNOSE_INT_H
#define BL_DIAGNOSE_INT_H

#include "bmslink/canerr.h"
#include "bmslink/diagnose.h"
#include "bmslink/lossy.h"

#include <stdarg.h>

/* One frame as every analyser sees it. */
typedef struct {
    const bl_can_frame_t *f;  /* CAN: as read (id length already corrected when flip_ext); NULL for RS485 */
    uint64_t line;
    uint64_t t_us;            /* capture time (0 without timestamps) */
    bool has_ts;
    int rc;                   /* 0 decoded; BL_EBADMSG rejected (why), error frames included */
    uint8_t why;              /* bl_reject_t */
    uint32_t fields;          /* BL_BIT(field) the message set in d->rec */
    const bl_decoded_t *dec;  /* CAN: what it carried (also for rejects: msg, sig, val); NULL for RS485 */
    int mi;                   /* index of dec->msg in the codec, -1 */
    bool b2i, i2b;            /* decoded battery / inverter message of the protocol */
    bool poll;                /* an inverter request or keep-alive (the battery watches these) */
    uint32_t period_ms;       /* its period where the protocol gives one */
    bool flipped;             /* the id length was corrected (d->flip_ext) */
    bool alarms;              /* the message reports on alarms (raised or cleared) */
} dg_ctx_t;

/* Arguments of the formatter's conversions (the types must match exactly). */
#define DG_M(v, dec) (int64_t)(v), (int)(dec) /* %m */
#define DG_ID(id, ext) (uint32_t)(id), (int)(ext) /* %i */
#define DG_T(us) (int64_t)(us)                /* %T */
#define DG_L(v) (int64_t)(v)                  /* %l */

/* text */
void dg_fmt(char *buf, size_t n, const char *fmt, ...);
void dg_cat(char *buf, size_t n, const char *fmt, ...);
void dg_vfmt(char *buf, size_t n, const char *fmt, va_list ap);

/* A mark: the frame (or line) of the current context, with up to three numbers for its note. */
void dg_mark(bl_diag_mark_t *m, const dg_ctx_t *c, int64_t a, int64_t b, int64_t x);
static inline bool dg_marked(const bl_diag_mark_t *m)
{
    return m->line != 0;
}

/* A new finding (NULL when the array is full: counted in d->dropped). */
bl_diag_finding_t *dg_add(bl_diag_t *d, unsigned problem, unsigned severity, const char *id, uint64_t at_us);
/* The first finding of a problem, or NULL. */
bl_diag_finding_t *dg_find(bl_diag_t *d, unsigned problem);
/* Evidence from a mark (skipped when the mark is empty, the finding full, or the line already there). */
void dg_ev(bl_diag_finding_t *f, const bl_diag_mark_t *m, const char *fmt, ...);
/* A note about the capture itself (no timestamps, time going backwards, ...). */
void dg_note(bl_diag_t *d, const char *fmt, ...);

/* The id of a message row as text into buf ("0x351 charge_discharge_limits"). */
void dg_msg_name(const bl_message_t *m, char *buf, size_t n);
/* Duration between two marks, µs (0 without timestamps). */
uint64_t dg_span(const bl_diag_mark_t *a, const bl_diag_mark_t *b);

/* Every analyser, in order, on one frame / message. */
void dg_analyse(bl_diag_t *d, const dg_ctx_t *c);
/* The protocol is known (or detected): set up, replay the sample. */
void dg_make_ready(bl_diag_t *d);
/* RS485 byte protocols: framer and session for p (bus rs485). BL_ENOTSUP for Modbus maps. */
int dg_rs_init(bl_diag_t *d, const bl_protocol_t *p);

/* Analysers: per frame, per malformed line, at the end. */
void dg_link_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_link_bad(bl_diag_t *d, const dg_ctx_t *c);
void dg_link_finish(bl_diag_t *d);
void dg_values_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_values_finish(bl_diag_t *d);
void dg_limits_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_limits_finish(bl_diag_t *d);
void dg_alarms_init(bl_diag_t *d);
void dg_alarms_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_alarms_finish(bl_diag_t *d);
void dg_shutdown_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_shutdown_finish(bl_diag_t *d);
void dg_battery_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_battery_finish(bl_diag_t *d);
void dg_timeline_frame(bl_diag_t *d, const dg_ctx_t *c);
void dg_timeline_bad(bl_diag_t *d, uint64_t t_us);

/* Shared judgement helpers */
int32_t dg_tol_current(int32_t limit_mA);  /* tolerance on a current limit, mA */
int32_t dg_tol_voltage(int32_t limit_mV);  /* tolerance on a voltage limit, mV */
/* the battery's current (mA, + charging) from the record, or the inverter's; false when neither */
bool dg_current(const bl_diag_t *d, int32_t *mA);

#endif
