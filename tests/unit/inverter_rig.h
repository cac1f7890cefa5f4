/*
 * The inverter-model test rig shared by test_inverter.c and test_inverter_edges.c: a Pylon LV
 * pack at 52.0 V through the real encoder (battery_default), an obedient 5000 W profile
 * (profile_default, add_quirk), and run() stepping the loop one second at a time.
 * Included by one test file each: its statics are that file's own.
 */
#ifndef BL_TEST_INVERTER_RIG_H
#define BL_TEST_INVERTER_RIG_H

#include <string.h>

#include "bmslink/inverter.h"

static bl_inv_profile_t p;
static bl_inv_t v;
static bl_can_codec_t bc;
static bl_record_t rec;
static uint64_t now;

#define V_PACK 52000

static void set(unsigned f, int32_t val)
{
    bl_record_set(&rec, f, val, 1, now);
}

/* a healthy pack: 60 %, 52.0 V, CVL 55.2 V, CCL 50 A, DCL 50 A, DVL 48 V, flags set */
static void battery_default(void)
{
    bl_record_init(&rec);
    set(BL_F_SOC, 60000);
    set(BL_F_SOH, 100000);
    set(BL_F_VOLTAGE, V_PACK);
    set(BL_F_CURRENT, 0);
    set(BL_F_TEMP, 25000);
    set(BL_F_CVL, 55200);
    set(BL_F_CCL, 50000);
    set(BL_F_DCL, 50000);
    set(BL_F_DVL, 48000);
    set(BL_F_CHARGE_ENABLE, 1);
    set(BL_F_DISCHARGE_ENABLE, 1);
    set(BL_F_FORCE_CHARGE, 0);
    set(BL_F_FULL_CHARGE_REQ, 0);
    set(BL_F_MODULE_COUNT, 2);
    bl_record_set_str(&rec, BL_F_MANUFACTURER, "PYLON", 5, now);
    for (unsigned c = 0; c < BL_AC_COUNT; c++)
        rec.known[c] = BL_A_ALL;
}

static void profile_default(void)
{
    bl_inv_profile_defaults(&p);
    p.name = "test";
    p.proto = bl_protocol_find("pylon-lv");
    p.detect[0] = 0x351;
    p.detect[1] = 0x355;
    p.ndetect = 2;
}

static void add_quirk(unsigned id, int32_t p0, int32_t p1, const char *text, const char *code)
{
    bl_inv_quirk_t *q = &p.quirks[p.nquirks++];
    memset(q, 0, sizeof *q);
    q->id = (uint8_t)id;
    q->param[0] = p0;
    q->param[1] = p1;
    q->nparam = 2;
    if (text != NULL)
        strcpy(q->text, text);
    if (code != NULL)
        strcpy(q->code, code);
    q->what = "test";
    q->source = "test";
}

static int setup(void **state)
{
    (void)state;
    now = 0;
    profile_default();
    battery_default();
    return bl_can_codec_init(&bc, bl_protocol_find("pylon-lv"));
}

static void start(void)
{
    assert_int_equal(bl_inv_init(&v, &p, 0, 0), 0);
}

/* the battery's whole broadcast at time now, through the real encoder */
static void broadcast(void)
{
    for (unsigned j = 0; j < bc.n; j++) {
        bl_can_frame_t f;
        if (!bc.sends[j] || bc.msg[j]->dir != BL_DIR_B2I)
            continue;
        assert_int_equal(bl_can_encode(&bc, bc.msg[j], 0, &rec, now, 10000, 0, &f, NULL), 0);
        bl_inv_rx(&v, &f, now);
    }
}

/* n seconds of broadcast + decisions; returns the last current it drives */
static int32_t run(unsigned n, int32_t pv_W, int32_t load_W, bool grid, bl_inv_out_t *out)
{
    bl_inv_out_t o = { 0 };
    bl_inv_env_t env = { .pv_W = pv_W, .load_W = load_W, .grid = grid, .v_mV = V_PACK, .i_mA = 0,
                         .temp_mdegC = 25000 };
    for (unsigned k = 0; k < n; k++) {
        now += 1000;
        for (unsigned f = 0; f < BL_F_COUNT; f++)
            if (rec.f[f].valid)
                rec.f[f].seen_ms = now;
        broadcast();
        bl_inv_step(&v, &env, now, &o);
    }
    if (out != NULL)
        *out = o;
    return o.i_mA;
}


#endif
