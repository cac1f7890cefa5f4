/*
 * The canonical record: one battery's state (and what an inverter reports
 * back), whatever protocol carried it.
 *
 * Units: every numeric field holds an integer in milli-units of the unit in
 * its JSON key (voltage_V -> mV, current_A -> mA, temperature_C -> m°C,
 * soc_pct -> 0.001 %, capacity_Ah -> mAh). Counts are plain integers,
 * booleans 0/1. Current is positive while charging; current and voltage
 * limits are magnitudes. Every field carries valid and the time it was last
 * seen: "never sent" and "0" are different facts.
 */
#ifndef BMSLINK_MODEL_H
#define BMSLINK_MODEL_H

#include "bmslink/base.h"

typedef enum {
    /* battery side: the canonical fields of CLI.md, in its order */
    BL_F_SOC = 0,          /* soc_pct */
    BL_F_SOH,              /* soh_pct */
    BL_F_VOLTAGE,          /* voltage_V, pack */
    BL_F_CURRENT,          /* current_A, + charging */
    BL_F_TEMP,             /* temperature_C, average / representative */
    BL_F_TEMP_MIN,         /* temp_min_C */
    BL_F_TEMP_MAX,         /* temp_max_C */
    BL_F_CELL_V_MIN,       /* cell_voltage_min_V */
    BL_F_CELL_V_MAX,       /* cell_voltage_max_V */
    BL_F_CVL,              /* charge_voltage_limit_V */
    BL_F_CCL,              /* charge_current_limit_A, magnitude, 0 = no charge */
    BL_F_DCL,              /* discharge_current_limit_A, magnitude */
    BL_F_DVL,              /* discharge_voltage_limit_V */
    BL_F_CHARGE_ENABLE,    /* bool */
    BL_F_DISCHARGE_ENABLE, /* bool */
    BL_F_FORCE_CHARGE,     /* bool */
    BL_F_FULL_CHARGE_REQ,  /* bool */
    BL_F_MODULE_COUNT,     /* count */
    BL_F_CAPACITY,         /* capacity_Ah */
    BL_F_CYCLE_COUNT,      /* count */
    BL_F_MANUFACTURER,     /* string */
    BL_F_MODEL,            /* string */
    BL_F_FIRMWARE,         /* string */
    BL_F_BATTERY_COUNT,    /* end of the battery fields */

    /* inverter side: what the inverter says it measured / does */
    BL_F_INV_VOLTAGE = BL_F_BATTERY_COUNT,
    BL_F_INV_CURRENT, /* + charging the battery */
    BL_F_INV_TEMP,
    BL_F_INV_SOC,
    BL_F_INV_STATE,   /* protocol-specific operating state code */
    BL_F_INV_ERROR,   /* protocol-specific error number */
    BL_F_COUNT,

    BL_F_NONE = 0xFF /* a signal with no canonical field */
} bl_field_id_t;

typedef enum {
    BL_FK_MILLI, /* milli-units of the JSON unit */
    BL_FK_INT,   /* plain integer count / code */
    BL_FK_BOOL,  /* 0 / 1 */
    BL_FK_STR    /* text, stored in the record's string slots */
} bl_field_kind_t;

typedef struct {
    const char *key;  /* JSON key, e.g. "voltage_V"; inverter fields "inv_*" */
    const char *unit; /* "V", "A", "C", "%", "Ah", "" */
    uint8_t kind;     /* bl_field_kind_t */
} bl_field_info_t;

/* Name, unit and kind of a field; NULL for an id out of range. */
const bl_field_info_t *bl_field_info(unsigned id);
/* Field id for a JSON key, or BL_F_NONE. */
unsigned bl_field_by_key(const char *key);

/* Canonical alarm names; one bit each in a bl_alarm_mask_t. */
typedef enum {
    BL_A_CELL_OV = 0,
    BL_A_CELL_UV,
    BL_A_PACK_OV,
    BL_A_PACK_UV,
    BL_A_CHG_OT,
    BL_A_CHG_UT,
    BL_A_DSG_OT,
    BL_A_DSG_UT,
    BL_A_CHG_OC,
    BL_A_DSG_OC,
    BL_A_SHORT,
    BL_A_IMBALANCE,
    BL_A_INTERNAL,
    BL_A_COMM,
    BL_A_COUNT
} bl_alarm_id_t;

typedef uint16_t bl_alarm_mask_t;
#define BL_A_ALL ((bl_alarm_mask_t)((1U << BL_A_COUNT) - 1U))

/* Alarm severity classes, the three arrays of CLI.md. */
typedef enum { BL_AC_ALARM = 0, BL_AC_WARNING, BL_AC_PROTECTION, BL_AC_COUNT } bl_alarm_class_t;

const char *bl_alarm_str(unsigned id);       /* "cell_over_voltage"; NULL out of range */
unsigned bl_alarm_by_name(const char *name); /* BL_A_COUNT when unknown */
const char *bl_alarm_class_str(unsigned c);  /* "alarms", "warnings", "protections" */

typedef struct {
    int32_t value;
    uint8_t valid; /* 0 = never sent (or invalidated); 0 is a real value */
    uint8_t dec;   /* decimals worth printing: the carrying protocol's resolution */
    uint16_t _pad;
    uint64_t seen_ms; /* now_ms of the frame that set it */
} bl_field_t;

#define BL_STR_MAX 32 /* bytes per string field, NUL included */

typedef struct {
    bl_field_t f[BL_F_COUNT];
    char str[3][BL_STR_MAX]; /* manufacturer, model, firmware (value of BL_F_MANUFACTURER.. ) */
    /* per class: alarms raised, and alarms the protocol reported on at all */
    bl_alarm_mask_t active[BL_AC_COUNT];
    bl_alarm_mask_t known[BL_AC_COUNT];
    uint64_t alarm_seen_ms[BL_AC_COUNT];
} bl_record_t;

void bl_record_init(bl_record_t *r);

/* Set a numeric/bool field: valid, seen now. dec = decimals to show. */
void bl_record_set(bl_record_t *r, unsigned id, int32_t value, uint8_t dec, uint64_t now_ms);
/* Set a string field (copies at most BL_STR_MAX-1 bytes, trims trailing spaces/NULs). */
void bl_record_set_str(bl_record_t *r, unsigned id, const char *s, size_t len, uint64_t now_ms);
/* Mark a field as not valid (e.g. a decoder learned it is absent). */
void bl_record_clear(bl_record_t *r, unsigned id);
/* String storage of a BL_FK_STR field, NULL for other fields. */
const char *bl_record_str(const bl_record_t *r, unsigned id);
char *bl_record_str_mut(bl_record_t *r, unsigned id);

/* true when the field is valid and not older than stale_ms (0 = never stale). */
bool bl_field_fresh(const bl_field_t *f, uint64_t now_ms, uint64_t stale_ms);

/* Copy field values of src that are valid into dst (keeps dst's other fields). */
void bl_record_merge(bl_record_t *dst, const bl_record_t *src);

#endif
