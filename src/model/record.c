/* The canonical record: field metadata, alarm names, setters. */
#include "bmslink/model.h"

#include <string.h>

static const bl_field_info_t fields[BL_F_COUNT] = {
    [BL_F_SOC] = { "soc_pct", "%", BL_FK_MILLI },
    [BL_F_SOH] = { "soh_pct", "%", BL_FK_MILLI },
    [BL_F_VOLTAGE] = { "voltage_V", "V", BL_FK_MILLI },
    [BL_F_CURRENT] = { "current_A", "A", BL_FK_MILLI },
    [BL_F_TEMP] = { "temperature_C", "C", BL_FK_MILLI },
    [BL_F_TEMP_MIN] = { "temp_min_C", "C", BL_FK_MILLI },
    [BL_F_TEMP_MAX] = { "temp_max_C", "C", BL_FK_MILLI },
    [BL_F_CELL_V_MIN] = { "cell_voltage_min_V", "V", BL_FK_MILLI },
    [BL_F_CELL_V_MAX] = { "cell_voltage_max_V", "V", BL_FK_MILLI },
    [BL_F_CVL] = { "charge_voltage_limit_V", "V", BL_FK_MILLI },
    [BL_F_CCL] = { "charge_current_limit_A", "A", BL_FK_MILLI },
    [BL_F_DCL] = { "discharge_current_limit_A", "A", BL_FK_MILLI },
    [BL_F_DVL] = { "discharge_voltage_limit_V", "V", BL_FK_MILLI },
    [BL_F_CHARGE_ENABLE] = { "charge_enable", "", BL_FK_BOOL },
    [BL_F_DISCHARGE_ENABLE] = { "discharge_enable", "", BL_FK_BOOL },
    [BL_F_FORCE_CHARGE] = { "force_charge", "", BL_FK_BOOL },
    [BL_F_FULL_CHARGE_REQ] = { "full_charge_request", "", BL_FK_BOOL },
    [BL_F_MODULE_COUNT] = { "module_count", "", BL_FK_INT },
    [BL_F_CAPACITY] = { "capacity_Ah", "Ah", BL_FK_MILLI },
    [BL_F_CYCLE_COUNT] = { "cycle_count", "", BL_FK_INT },
    [BL_F_MANUFACTURER] = { "manufacturer", "", BL_FK_STR },
    [BL_F_MODEL] = { "model", "", BL_FK_STR },
    [BL_F_FIRMWARE] = { "firmware_version", "", BL_FK_STR },
    [BL_F_INV_VOLTAGE] = { "inv_voltage_V", "V", BL_FK_MILLI },
    [BL_F_INV_CURRENT] = { "inv_current_A", "A", BL_FK_MILLI },
    [BL_F_INV_TEMP] = { "inv_temperature_C", "C", BL_FK_MILLI },
    [BL_F_INV_SOC] = { "inv_soc_pct", "%", BL_FK_MILLI },
    [BL_F_INV_STATE] = { "inv_state", "", BL_FK_INT },
    [BL_F_INV_ERROR] = { "inv_error", "", BL_FK_INT },
};

static const char *const alarm_names[BL_A_COUNT] = {
    [BL_A_CELL_OV] = "cell_over_voltage",
    [BL_A_CELL_UV] = "cell_under_voltage",
    [BL_A_PACK_OV] = "pack_over_voltage",
    [BL_A_PACK_UV] = "pack_under_voltage",
    [BL_A_CHG_OT] = "charge_over_temperature",
    [BL_A_CHG_UT] = "charge_under_temperature",
    [BL_A_DSG_OT] = "discharge_over_temperature",
    [BL_A_DSG_UT] = "discharge_under_temperature",
    [BL_A_CHG_OC] = "charge_over_current",
    [BL_A_DSG_OC] = "discharge_over_current",
    [BL_A_SHORT] = "short_circuit",
    [BL_A_IMBALANCE] = "cell_imbalance",
    [BL_A_INTERNAL] = "internal_fault",
    [BL_A_COMM] = "communication_fault",
};

static const char *const class_names[BL_AC_COUNT] = { "alarms", "warnings", "protections" };

const bl_field_info_t *bl_field_info(unsigned id)
{
    return id < BL_F_COUNT ? &fields[id] : NULL;
}

unsigned bl_field_by_key(const char *key)
{
    for (unsigned i = 0; i < BL_F_COUNT; i++)
        if (strcmp(fields[i].key, key) == 0)
            return i;
    return BL_F_NONE;
}

const char *bl_alarm_str(unsigned id)
{
    return id < BL_A_COUNT ? alarm_names[id] : NULL;
}

unsigned bl_alarm_by_name(const char *name)
{
    for (unsigned i = 0; i < BL_A_COUNT; i++)
        if (strcmp(alarm_names[i], name) == 0)
            return i;
    return BL_A_COUNT;
}

const char *bl_alarm_class_str(unsigned c)
{
    return c < BL_AC_COUNT ? class_names[c] : NULL;
}

void bl_record_init(bl_record_t *r)
{
    memset(r, 0, sizeof *r);
}

void bl_record_set(bl_record_t *r, unsigned id, int32_t value, uint8_t dec, uint64_t now_ms)
{
    if (id >= BL_F_COUNT)
        return;
    r->f[id].value = value;
    r->f[id].valid = 1;
    r->f[id].dec = dec;
    r->f[id]._pad = 0;
    r->f[id].seen_ms = now_ms;
}

static int str_slot(unsigned id)
{
    if (id >= BL_F_MANUFACTURER && id <= BL_F_FIRMWARE)
        return (int)(id - BL_F_MANUFACTURER);
    return -1;
}

const char *bl_record_str(const bl_record_t *r, unsigned id)
{
    int s = str_slot(id);
    return s < 0 ? NULL : r->str[s];
}

char *bl_record_str_mut(bl_record_t *r, unsigned id)
{
    int s = str_slot(id);
    return s < 0 ? NULL : r->str[s];
}

void bl_record_set_str(bl_record_t *r, unsigned id, const char *s, size_t len, uint64_t now_ms)
{
    char *dst = bl_record_str_mut(r, id);
    if (dst == NULL)
        return;
    if (len > BL_STR_MAX - 1)
        len = BL_STR_MAX - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
    while (len > 0 && (dst[len - 1] == ' ' || dst[len - 1] == '\0'))
        dst[--len] = '\0';
    bl_record_set(r, id, (int32_t)len, 0, now_ms);
}

void bl_record_clear(bl_record_t *r, unsigned id)
{
    if (id < BL_F_COUNT)
        r->f[id].valid = 0;
}

bool bl_field_fresh(const bl_field_t *f, uint64_t now_ms, uint64_t stale_ms)
{
    if (!f->valid)
        return false;
    if (stale_ms == 0 || now_ms <= f->seen_ms)
        return true;
    return now_ms - f->seen_ms <= stale_ms;
}

void bl_record_merge(bl_record_t *dst, const bl_record_t *src)
{
    for (unsigned i = 0; i < BL_F_COUNT; i++) {
        if (!src->f[i].valid)
            continue;
        dst->f[i] = src->f[i];
        int s = str_slot(i);
        if (s >= 0)
            memcpy(dst->str[s], src->str[s], BL_STR_MAX);
    }
    for (unsigned c = 0; c < BL_AC_COUNT; c++) {
        bl_alarm_mask_t k = src->known[c];
        dst->active[c] = (bl_alarm_mask_t)((dst->active[c] & ~k) | (src->active[c] & k));
        dst->known[c] |= k;
        if (k)
            dst->alarm_seen_ms[c] = src->alarm_seen_ms[c];
    }
}
