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
