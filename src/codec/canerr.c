/* Error frames and adapter status into one bus state. */
#include "bmslink/canerr.h"

const char *bl_bus_state_str(unsigned s)
{
    static const char *const n[BL_CANST_COUNT] = { "unknown", "error-active", "error-warning", "error-passive",
                                                   "bus-off" };
    return s < BL_CANST_COUNT ? n[s] : "unknown";
}

const char *bl_canerr_class_str(uint32_t bit)
{
    static const char *const n[BL_CANERR_NCLASSES] = {
        "tx-timeout", "lost-arbitration", "controller", "protocol-violation", "transceiver",
        "no-ack",     "bus-off",          "bus-error",  "restarted",          "error-counters",
    };
    for (unsigned i = 0; i < BL_CANERR_NCLASSES; i++)
        if (bit == (1u << i))
            return n[i];
    return NULL;
}

/* The state the counters alone say (they are the ground truth of ISO 11898-1). */
static uint8_t state_from_counters(uint8_t tx, uint8_t rx)
{
    if (tx >= BL_CAN_PASSIVE_LIMIT || rx >= BL_CAN_PASSIVE_LIMIT)
        return BL_CANST_PASSIVE;
    if (tx >= BL_CAN_WARNING_LIMIT || rx >= BL_CAN_WARNING_LIMIT)
        return BL_CANST_WARNING;
    return BL_CANST_ACTIVE;
}

int bl_canerr_parse(const bl_can_frame_t *f, bl_canerr_t *e)
{
    uint8_t d[8] = { 0 };

    *e = (bl_canerr_t){ 0 };
    if (!(f->flags & BL_CAN_ERR))
        return BL_EINVAL;
    for (unsigned i = 0; i < sizeof d && i < f->len; i++) /* bytes past len read as 0 */
        d[i] = f->data[i];
    e->classes = f->id & ((1u << BL_CANERR_NCLASSES) - 1u);
    if (e->classes & BL_CANERR_CRTL) {
        e->crtl = d[1];
        e->overflow = (d[1] & (BL_CANERR_CRTL_RX_OVERFLOW | BL_CANERR_CRTL_TX_OVERFLOW)) != 0;
    }
    if (e->classes & BL_CANERR_PROT) {
        e->prot = d[2];
        e->prot_loc = d[3];
    }
    if (e->classes & BL_CANERR_TRX)
        e->trx = d[4];
    if (e->classes & BL_CANERR_CNT) {
        e->have_counters = true;
        e->tx_errors = d[6];
        e->rx_errors = d[7];
    }
    /* Worst news first: bus-off outranks whatever else the frame carries. */
    if (e->classes & BL_CANERR_BUSOFF)
        e->state = BL_CANST_BUS_OFF;
    else if ((e->classes & BL_CANERR_CRTL) && (d[1] & (BL_CANERR_CRTL_RX_PASSIVE | BL_CANERR_CRTL_TX_PASSIVE)))
        e->state = BL_CANST_PASSIVE;
    else if ((e->classes & BL_CANERR_CRTL) && (d[1] & (BL_CANERR_CRTL_RX_WARNING | BL_CANERR_CRTL_TX_WARNING)))
        e->state = BL_CANST_WARNING;
    else if (((e->classes & BL_CANERR_CRTL) && (d[1] & BL_CANERR_CRTL_ACTIVE)) || (e->classes & BL_CANERR_RESTARTED))
        e->state = BL_CANST_ACTIVE; /* recovered, or the controller restarted after bus-off */
    else if (e->have_counters)
        e->state = state_from_counters(e->tx_errors, e->rx_errors);
    return 0;
}

bl_bus_state_t bl_slcan_status_state(uint8_t status)
{
    if (status & BL_SLCAN_ST_PASSIVE)
        return BL_CANST_PASSIVE;
    if (status & BL_SLCAN_ST_WARNING)
        return BL_CANST_WARNING;
    return BL_CANST_ACTIVE;
}
