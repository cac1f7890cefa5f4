/* Every built-in protocol, in listing order. Add a family here and in its own file. */
#include "bmslink/protocol.h"

#include <string.h>

extern const bl_protocol_t bl_proto_pylon_lv, bl_proto_pylon_lv_v13, bl_proto_pylon_lv_solark;
/* ---- CAN families (issue 4) ---- */
extern const bl_protocol_t bl_proto_sma_si, bl_proto_victron;
extern const bl_protocol_t bl_proto_pylon_hv, bl_proto_pylon_hv_le_offset, bl_proto_pylon_hv_le, bl_proto_pylon_hv_be;
extern const bl_protocol_t bl_proto_byd_hvs, bl_proto_sma_hv;
extern const bl_protocol_t bl_proto_growatt_lv, bl_proto_growatt_hv, bl_proto_growatt_wit;
extern const bl_protocol_t bl_proto_solax, bl_proto_solax_ultra, bl_proto_foxess, bl_proto_sofar, bl_proto_sungrow;
extern const bl_protocol_t bl_proto_goodwe_lv, bl_proto_afore, bl_proto_schneider;
/* ---- RS485 / Modbus (issue 5): pylon_rs485.c, daly.c, jbd.c, modbus_maps.c ---- */
extern const bl_protocol_t bl_proto_pylon_rs485, bl_proto_pylon_rs485_seplos, bl_proto_pylon_rs485_pace,
    bl_proto_pylon_rs485_eg4, bl_proto_pylon_rs485_daren, bl_proto_daly, bl_proto_daly_inverted, bl_proto_jbd,
    bl_proto_pace_modbus, bl_proto_seplos_v3, bl_proto_seplos_v3_bank, bl_proto_jk_pb, bl_proto_eg4_ll,
    bl_proto_byd_hvm, bl_proto_felicity, bl_proto_daly_d2, bl_proto_jk_4e57;

static const bl_protocol_t *const all[] = {
    &bl_proto_pylon_lv,
    &bl_proto_pylon_lv_v13,
    &bl_proto_pylon_lv_solark,
    /* ---- CAN families (issue 4) ---- */
    &bl_proto_sma_si,
    &bl_proto_victron,
    &bl_proto_pylon_hv,
    &bl_proto_pylon_hv_le_offset,
    &bl_proto_pylon_hv_le,
    &bl_proto_pylon_hv_be,
    &bl_proto_byd_hvs,
    &bl_proto_sma_hv,
    &bl_proto_growatt_lv,
    &bl_proto_growatt_hv,
    &bl_proto_growatt_wit,
    &bl_proto_solax,
    &bl_proto_solax_ultra,
    &bl_proto_foxess,
    &bl_proto_sofar,
    &bl_proto_sungrow,
    &bl_proto_goodwe_lv,
    &bl_proto_afore,
    &bl_proto_schneider,
    /* ---- RS485 / Modbus (issue 5) ---- */
    &bl_proto_pylon_rs485,
    &bl_proto_pylon_rs485_seplos,
    &bl_proto_pylon_rs485_pace,
    &bl_proto_pylon_rs485_eg4,
    &bl_proto_pylon_rs485_daren,
    &bl_proto_daly,
    &bl_proto_daly_inverted,
    &bl_proto_jbd,
    &bl_proto_jk_4e57,
    &bl_proto_pace_modbus,
    &bl_proto_seplos_v3,
    &bl_proto_seplos_v3_bank,
    &bl_proto_jk_pb,
    &bl_proto_eg4_ll,
    &bl_proto_byd_hvm,
    &bl_proto_felicity,
    &bl_proto_daly_d2,
};

const bl_protocol_t *const *bl_protocols(size_t *n)
{
    *n = BL_ARRAY_LEN(all);
    return all;
}

const bl_protocol_t *bl_protocol_find(const char *name)
{
    for (size_t i = 0; i < BL_ARRAY_LEN(all); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}
