/*
 * Look-up of inverter error codes (errcode.h) and the diagnose vocabulary their causes
 * are written in. Freestanding: the table is the caller's.
 */
#include "bmslink/errcode.h"

#include "bmslink/diagnose.h"
#include "bmslink/model.h"

#include <string.h>

/* Every finding id the analysers raise (src/engines/diagnose_*.c), under its problem.
 * tests/cli/explain.sh checks the analysers raise no id missing here. */
static const bl_diag_cause_t causes[] = {
    { "no_battery_frames", BL_DP_BATTERY_NOT_DETECTED, "no battery frame at all" },
    { "waiting_for_poll", BL_DP_BATTERY_NOT_DETECTED, "the battery waits for a poll that never comes" },
    { "no_answer_to_polls", BL_DP_BATTERY_NOT_DETECTED, "the inverter polls, the battery does not answer" },
    { "wrong_bitrate", BL_DP_BATTERY_NOT_DETECTED, "no battery frame: the bus runs at another bitrate" },
    { "wrong_id_length", BL_DP_BATTERY_NOT_DETECTED, "the battery uses the other CAN id length" },
    { "wrong_protocol", BL_DP_BATTERY_NOT_DETECTED, "the battery speaks another protocol" },
    { "identity_rejected", BL_DP_BATTERY_NOT_DETECTED,
      "the inverter refuses the battery's identity (manufacturer string, battery type)" },
    { "missing_detect_message", BL_DP_BATTERY_NOT_DETECTED, "a message the inverter needs to detect the battery is missing" },
    { "no_keepalive", BL_DP_BATTERY_NOT_DETECTED, "the inverter's keep-alive is missing" },
    { "soc_absent", BL_DP_SOC, "no SOC on the wire" },
    { "soc_period", BL_DP_SOC, "SOC sent too seldom" },
    { "soc_frozen", BL_DP_SOC, "SOC stands still while charge flows" },
    { "soc_jump", BL_DP_SOC, "SOC jumps" },
    { "soc_recalibration", BL_DP_SOC, "the BMS reset its SOC at a calibration point" },
    { "soc_vs_voltage", BL_DP_SOC, "SOC against the rest voltage of the cells" },
    { "soc_scale", BL_DP_SOC, "SOC on the wrong scale" },
    { "soc_vs_coulomb", BL_DP_SOC, "SOC against the counted charge" },
    { "gap", BL_DP_COMM, "battery data stopped for longer than the timeout (comm loss)" },
    { "battery_stopped", BL_DP_COMM, "the battery stopped sending before the end of the capture" },
    { "inverter_gap", BL_DP_COMM, "the inverter's polls or keep-alive stopped" },
    { "bus_off", BL_DP_COMM, "a CAN controller went bus-off" },
    { "error_passive", BL_DP_COMM, "a CAN controller went error-passive" },
    { "error_frames", BL_DP_COMM, "error frames on the bus" },
    { "out_of_range", BL_DP_COMM, "values out of their plausible range" },
    { "malformed_burst", BL_DP_COMM, "bursts of malformed lines or frames" },
    { "slow_period", BL_DP_COMM, "a message slower than its period" },
    { "alarm_lost", BL_DP_ALARM_NOT_SHOWN, "a battery alarm the inverter cannot show" },
    { "alarm_other_class", BL_DP_ALARM_NOT_SHOWN, "a battery alarm shown in another class" },
    { "ccl_exceeded", BL_DP_LIMITS, "charge current above the charge current limit" },
    { "dcl_exceeded", BL_DP_LIMITS, "discharge current above the discharge current limit" },
    { "cvl_exceeded", BL_DP_LIMITS, "pack voltage above the charge voltage limit" },
    { "zero_limit_ignored", BL_DP_LIMITS, "a 0 A limit the inverter ignores" },
    { "cvl_zero", BL_DP_LIMITS, "a charge voltage limit of 0 V" },
    { "dcl_zero_shutdown", BL_DP_LIMITS, "a discharge limit of 0 A that shuts an off-grid inverter down" },
    { "current_limits_ignored", BL_DP_LIMITS, "an inverter that does not honour current limits" },
    { "negative_limit", BL_DP_LIMITS, "a current limit sent negative" },
    { "stopped", BL_DP_SHUTDOWN, "the current stopped after battery events" },
    { "battery_went_silent", BL_DP_SHUTDOWN, "the battery went silent while current flowed" },
    { "wrong_baud", BL_DP_WRONG_BITRATE, "RS485 noise without frames: another baud rate" },
    { "garbage_frames", BL_DP_WRONG_BITRATE, "frames that never repeat: another bitrate" },
    { "id_length", BL_DP_WRONG_ID_LENGTH, "11-bit against 29-bit ids" },
    { "protocol_mismatch", BL_DP_WRONG_PROTOCOL, "the battery speaks another protocol than the site is set to" },
    { "inverter_speaks_other", BL_DP_WRONG_PROTOCOL, "the inverter speaks another protocol than the battery" },
    { "two_battery_protocols", BL_DP_WRONG_PROTOCOL, "two battery protocols on one bus" },
    { "current_sign", BL_DP_SIGN_INVERTED, "the current's sign is inverted" },
    { "values_repeat", BL_DP_STALE_DATA, "voltage and current repeat unchanged" },
    { "voltage_frozen", BL_DP_STALE_DATA, "the pack voltage stands still while charge flows" },
    { "cells_vs_voltage", BL_DP_BATTERY_MISMATCH, "the pack voltage does not fit the battery's cell count" },
    { "limit_above_rating", BL_DP_BATTERY_MISMATCH, "a limit the BMS sends is beyond the battery's rating" },
};

const bl_diag_cause_t *bl_diag_causes(size_t *n)
{
    *n = sizeof causes / sizeof causes[0];
    return causes;
}

bool bl_diag_cause_valid(const char *c)
{
    size_t n;
    const bl_diag_cause_t *t = bl_diag_causes(&n);

    if (c == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].id, c) == 0)
            return true;
    for (unsigned p = 0; p < BL_DP_COUNT; p++)
        if (strcmp(bl_diag_problem_str(p), c) == 0)
            return true;
    if (strncmp(c, "alarm.", 6) == 0)
        return bl_alarm_by_name(c + 6) < BL_A_COUNT;
    if (strncmp(c, "warning.", 8) == 0)
        return bl_alarm_by_name(c + 8) < BL_A_COUNT;
    return false;
}

/* ---- codes -------------------------------------------------------------------------------- */

const char *bl_ec_severity_str(unsigned s)
{
    static const char *const n[] = { "fault", "warning" };
    return s < BL_EC_SEV_COUNT ? n[s] : NULL;
}

unsigned bl_ec_severity_by_name(const char *s)
{
    for (unsigned i = 0; i < BL_EC_SEV_COUNT; i++)
        if (s != NULL && strcmp(s, bl_ec_severity_str(i)) == 0)
            return i;
    return BL_EC_SEV_COUNT;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t bl_ec_norm(const char *in, char *out, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    for (; in != NULL && *in; in++) {
        if (!alnum(*in))
            continue;
        if (k + 1 >= n) {
            out[0] = '\0';
            return 0;
        }
        out[k++] = upper(*in);
    }
    out[k] = '\0';
    return k;
}

static bool same_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (upper(*a) != upper(*b))
            return false;
    return *a == *b;
}

bool bl_ec_brand_is(const bl_errcode_t *e, const char *brand)
{
    return brand == NULL || brand[0] == '\0' || (e->brand != NULL && same_nocase(e->brand, brand));
}

bool bl_ec_applies(const bl_errcode_t *e, const char *brand, const char *profile)
{
    if (brand == NULL || brand[0] == '\0' || !bl_ec_brand_is(e, brand))
        return false;
    if (e->nprofiles == 0 || profile == NULL)
        return true;
    for (unsigned i = 0; i < e->nprofiles && i < BL_EC_PROFILES; i++)
        if (e->profiles[i] != NULL && strcmp(e->profiles[i], profile) == 0)
            return true;
    return false;
}

bool bl_ec_has_cause(const bl_errcode_t *e, const char *cause)
{
    for (unsigned i = 0; i < e->ncauses && i < BL_EC_CAUSES; i++)
        if (e->causes[i] != NULL && cause != NULL && strcmp(e->causes[i], cause) == 0)
            return true;
    return false;
}

/* The digits that end a normalised code ("F952" -> "952"); "" when it has no number. */
static const char *number_of(const char *norm)
{
    const char *p = norm + strlen(norm);
    while (p > norm && digit(p[-1]))
        p--;
    return p;
}

static bl_ec_match_t match(const bl_errcode_t *e, const char *q)
{
    char c[BL_EC_NORM];
    bl_ec_match_t best = BL_EC_MATCH_NONE;

    if (bl_ec_norm(e->code, c, sizeof c) == 0)
        return BL_EC_MATCH_NONE;
    if (strcmp(c, q) == 0)
        return BL_EC_MATCH_EXACT;
    for (unsigned i = 0; i < e->naliases && i < BL_EC_ALIASES; i++) {
        char a[BL_EC_NORM];
        if (bl_ec_norm(e->aliases[i], a, sizeof a) > 0 && strcmp(a, q) == 0)
            return BL_EC_MATCH_ALIAS;
    }
    {
        char a[BL_EC_NORM];
        if (e->name != NULL && bl_ec_norm(e->name, a, sizeof a) > 0 && strcmp(a, q) == 0)
            return BL_EC_MATCH_ALIAS;
    }
    /* a bare number names every code that ends in it after its letters */
    if (digit(q[0]) && number_of(q) == q && strcmp(number_of(c), q) == 0 && number_of(c) != c)
        best = BL_EC_MATCH_NUMBER;
    else if (strncmp(c, q, strlen(q)) == 0)
        best = BL_EC_MATCH_PREFIX;
    return best;
}

size_t bl_ec_find(const bl_errcode_t *t, size_t n, const char *query, const char *brand, uint16_t *idx, size_t cap,
                  bl_ec_match_t *how)
{
    char q[BL_EC_NORM];
    bl_ec_match_t best = BL_EC_MATCH_NONE;
    size_t found = 0;

    if (how != NULL)
        *how = BL_EC_MATCH_NONE;
    if (bl_ec_norm(query, q, sizeof q) == 0)
        return 0;
    /* the best kind first: an exact code beats an alias, a number, a prefix */
    for (size_t i = 0; i < n; i++) {
        bl_ec_match_t m;
        if (!bl_ec_brand_is(&t[i], brand) || (m = match(&t[i], q)) == BL_EC_MATCH_NONE)
            continue;
        if (best == BL_EC_MATCH_NONE || m < best)
            best = m;
    }
    if (best == BL_EC_MATCH_NONE)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (bl_ec_brand_is(&t[i], brand) && match(&t[i], q) == best) {
            if (found < cap)
                idx[found] = (uint16_t)i;
            found++;
        }
    if (how != NULL)
        *how = best;
    return found;
}

/* Levenshtein distance of two short strings, capped at 3 (only <= 2 is used). */
static unsigned distance(const char *a, const char *b)
{
    unsigned row[BL_EC_NORM + 1];
    size_t la = strlen(a), lb = strlen(b);

    if (la >= BL_EC_NORM || lb >= BL_EC_NORM)
        return 3;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j], v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            diag = up;
            row[j] = v;
        }
    }
    return row[lb] > 3 ? 3 : row[lb];
}

size_t bl_ec_suggest(const bl_errcode_t *t, size_t n, const char *query, const char *brand, uint16_t *idx,
                     size_t cap)
{
    char q[BL_EC_NORM];
    size_t k = 0;

    if (bl_ec_norm(query, q, sizeof q) == 0)
        return 0;
    for (unsigned d = 1; d <= 2; d++)
        for (size_t i = 0; i < n && k < cap; i++) {
            char c[BL_EC_NORM];
            if (bl_ec_brand_is(&t[i], brand) && bl_ec_norm(t[i].code, c, sizeof c) > 0 && distance(c, q) == d)
                idx[k++] = (uint16_t)i;
        }
    return k;
}
