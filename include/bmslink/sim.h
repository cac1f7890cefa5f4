/*
 * The closed loop: battery simulator -> real protocol encoder -> in-memory
 * bus -> real decoder -> inverter model, and the inverter's frames back the
 * same way, with injected time and a scenario (load/PV/ambient profiles and
 * timed fault events). The loop reports a timeline (samples), events with
 * frame evidence, and every frame with its fate on the bus.
 *
 * Freestanding: the caller owns the instance and the scenario; the hosted
 * layer parses scenario files (src/loaders/scenario.c) into bl_scenario_t.
 */
#ifndef BMSLINK_SIM_H
#define BMSLINK_SIM_H

#include "bmslink/battery_can.h"
#include "bmslink/battery_sim.h"
#include "bmslink/faults.h"
#include "bmslink/inverter.h"

/* Limits the inverter exceeded (against what the battery put on the bus). */
typedef enum {
    BL_VIOL_CCL = 0,
    BL_VIOL_DCL,
    BL_VIOL_CVL,
    BL_VIOL_CHARGE_DISABLED,
    BL_VIOL_DISCHARGE_DISABLED,
    BL_VIOL_COUNT
} bl_viol_t;

const char *bl_viol_str(unsigned v);

typedef enum { BL_SIDE_BATTERY = 0, BL_SIDE_INVERTER } bl_side_t;

/* What happened to a frame on the bus. */
typedef enum {
    BL_FATE_DELIVERED = 0,
    BL_FATE_DROPPED,    /* comm loss */
    BL_FATE_BUS_OFF,    /* sender or receiver bus-off */
    BL_FATE_CORRUPTED,  /* bitrate mismatch: the receiver saw an error frame */
    BL_FATE_COUNT
} bl_fate_t;

typedef struct {
    uint64_t t_ms;
    const bl_bsim_t *bat;      /* the truth: cells, current, temperature, limits, FETs */
    const bl_record_t *sent;   /* what the battery encoded (after record-level faults) */
    const bl_inv_t *inv;       /* inverter state, code, view (the values it used) */
    const bl_inv_out_t *out;   /* its decision */
    const bl_inv_env_t *env;   /* load, PV, grid */
    uint32_t violations;       /* BL_BIT(bl_viol_t): limits exceeded now (vs what was sent) */
    uint32_t unsafe;           /* BL_BIT(bl_viol_t): vs the battery's true limits */
} bl_sim_sample_t;

typedef struct {
    const bl_protocol_t *battery_proto;  /* what the simulated battery speaks */
    const bl_inv_profile_t *profile;
    const bl_scenario_t *scn;
    int firmware;               /* inverter firmware index, < 0: from the scenario or the default */
    uint32_t sample_ms;         /* timeline interval; 0 = no samples */
    void *ctx;
    bl_sim_event_fn on_event;
    void (*on_sample)(void *ctx, const bl_sim_sample_t *s);
    void (*on_frame)(void *ctx, uint64_t t_ms, uint8_t from, const bl_can_frame_t *f, uint8_t fate);
    /* byte protocols (RS485): every whole frame on the line with its fate */
    void (*on_bytes)(void *ctx, uint64_t t_ms, uint8_t from, const uint8_t *b, size_t n, uint8_t fate);
} bl_sim_cfg_t;

#define BL_SIM_TX_MAX 64

typedef struct {
    bl_sim_cfg_t cfg;
    bl_bsim_t bat;
    bl_batcan_t bcan;       /* CAN: the battery role; RS485: only its counters (rx, tx, safe_frames) */
    /* byte protocols (RS485): the battery answers the inverter's polls */
    const bl_rs485_codec_t *brs;
    bl_rs_session_t bsess;
    uint8_t baddr;
    uint32_t rs_silent;     /* requests the battery did not answer (another address, nothing honest) */
    uint8_t rs_info[BL_INV_RS_INFO], rs_req[1024], rs_out[4200], rs_bad[4200];
    bl_can_codec_t wcodec;  /* reads back frames a wire fault altered: what the inverter was told */
    bl_inv_t inv;
    bl_record_t rec;        /* battery record (the BMS's view) */
    bl_record_t sent;       /* after record-level faults: what the encoder gets */
    bl_record_t wire;       /* limits last put on the bus */
    bl_inv_env_t env;
    bl_inv_out_t out;
    uint64_t now_ms, next_ctl_ms, next_sample_ms, next_bat_ms, next_inv_ms;
    uint32_t step_ms;
    int32_t i_cmd_mA;
    bl_faults_t faults;     /* the scenario's events in force */
    uint32_t port_bitrate, bat_bitrate;
    int32_t tol_ccl_mA, tol_dcl_mA, tol_cvl_mV;
    uint32_t limit_fields[BL_CAN_MAX_MSGS]; /* per battery codec message: limit fields it carries */
    uint32_t viol, unsafe;
    uint64_t viol_since[BL_VIOL_COUNT];
    /* totals, only incremented */
    uint64_t viol_ms[BL_VIOL_COUNT], unsafe_ms[BL_VIOL_COUNT];
    uint64_t frames[2][BL_FATE_COUNT];   /* [from side][fate] */
    int64_t charged_mJ, discharged_mJ, import_mJ, export_mJ, unserved_mJ, curtailed_mJ;
    int32_t soc_min_mpct, soc_max_mpct, v_min_mV, v_max_mV, t_max_mdegC;
    uint32_t events;
    int bad_event;          /* bl_sim_init: index of the scenario event it refused, -1 */
    uint8_t ev_fw[BL_SCN_MAX_EVENTS]; /* firmware events: the variant index */
    uint8_t fw0;            /* firmware at the start */
    bl_can_frame_t txbuf[BL_SIM_TX_MAX];
} bl_sim_t;

/*
 * Set up the loop at t = scn->start_ms.
 * @retval 0           ready
 * @retval BL_ENOTSUP  the profile's protocol is not in this build, a Modbus map, or on
 *                     another bus than the battery's
 * @retval BL_EINVAL   bad battery parameters, firmware or scenario (cfg->scn)
 * @retval BL_ENOENT   a scenario event names a setting or firmware the profile lacks
 */
int bl_sim_init(bl_sim_t *s, const bl_sim_cfg_t *cfg);

/* Advance to until_ms on the scenario clock (the run began at scn->start_ms);
 * returns the time reached. */
uint64_t bl_sim_run(bl_sim_t *s, uint64_t until_ms);

#endif
