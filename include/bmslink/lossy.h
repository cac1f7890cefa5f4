/*
 * The lossy-mapping table: what survives translating battery protocol A (decoded)
 * into inverter-side protocol B (encoded). Computed from the capability tables
 * (bl_proto_caps of A, bl_proto_caps_sent of B), never written by hand.
 * Freestanding: caller-owned result, no allocation.
 */
#ifndef BMSLINK_LOSSY_H
#define BMSLINK_LOSSY_H

#include "bmslink/protocol.h"

typedef enum {
    BL_LOSSY_PASSES = 0, /* B carries it as exactly as A does */
    BL_LOSSY_DEGRADES,   /* B carries it, worse: coarser step, narrower range, fewer characters, a shared bit */
    BL_LOSSY_LOST,       /* A carries it, B cannot */
    BL_LOSSY_ABSENT,     /* A does not carry it (fields), or only B does (alarms: see BL_LW_CLAIMS_OK) */
    BL_LOSSY_COUNT
} bl_lossy_status_t;

/* Why (bits, several may hold). */
enum {
    BL_LW_STEP = 1u << 0,       /* B's step is coarser: max_error is the worst rounding added */
    BL_LW_RANGE = 1u << 1,      /* B's range is narrower: values outside it cannot be sent */
    BL_LW_TEXT = 1u << 2,       /* B carries fewer characters */
    BL_LW_SHARED = 1u << 3,     /* one bit for several alarms (on B: merged; on A: ambiguous source) */
    BL_LW_CLASS = 1u << 4,      /* B carries the alarm only in another class (to_class) */
    BL_LW_UNVERIFIED = 1u << 5, /* a row on either side is single-source or inferred */
    BL_LW_CLAIMS_OK = 1u << 6   /* only B carries it, on a plain bit: B will say "not raised" */
};

typedef struct {
    uint8_t status;           /* bl_lossy_status_t */
    uint8_t why;              /* BL_LW_* */
    uint8_t text_a, text_b;   /* strings: characters carried */
    int32_t step_a, step_b;   /* milli-units (counts: 1000 per count) */
    int32_t max_error;        /* worst-case error the translation adds, milli-units */
    int32_t lo_a, hi_a, lo_b, hi_b;
} bl_lossy_field_t;

typedef struct {
    uint8_t status, why;
    uint8_t to_class;         /* BL_LW_CLASS: the class B carries it in */
    bl_alarm_mask_t merged;   /* BL_LW_SHARED: the alarms it travels with */
} bl_lossy_alarm_t;

typedef struct {
    const bl_protocol_t *a, *b;
    bl_lossy_field_t field[BL_F_BATTERY_COUNT];
    bl_lossy_alarm_t alarm[BL_AC_COUNT][BL_A_COUNT];
    uint16_t fields[BL_LOSSY_COUNT]; /* fields per status */
    uint16_t alarms[BL_LOSSY_COUNT]; /* (class, alarm) pairs per status */
} bl_lossy_t;

/*
 * Fill *out for translating a (battery side) into b (inverter side).
 * @retval 0          done
 * @retval BL_EINVAL  a or b is not a CAN protocol (no capability table)
 */
int bl_lossy_map(const bl_protocol_t *a, const bl_protocol_t *b, bl_lossy_t *out);

/* "passes", "degrades", "lost", "absent" */
const char *bl_lossy_status_str(unsigned s);

/* Worst distance between a value on the grid origin_a + k*step_a and the nearest value of
 * origin_b + j*step_b (steps > 0, milli-units): what re-quantizing adds. */
int32_t bl_lossy_requant_error(int32_t step_a, int32_t origin_a, int32_t step_b, int32_t origin_b);

#endif
