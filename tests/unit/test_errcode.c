/*
 * Inverter error codes (share/errorcodes.yaml, errcode.h): every code a user can read off
 * a display resolves, however it is typed; a number shared by a fault and a warning, or
 * the start of a code, lists them all; a typo gets the close codes; the table agrees with
 * the profiles that name codes; and a bad table or battery file is refused with its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bmslink/errload.h"
#include "bmslink/simload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bl_errcode_file_t *T;

static int load(void **state)
{
    char err[512];
    (void)state;
    T = malloc(sizeof *T);
    assert_non_null(T);
    if (bl_errcodes_load(T, BL_SOURCE_DIR "/share/errorcodes.yaml", err, sizeof err) != 0)
        fail_msg("%s", err);
    return 0;
}

static int unload(void **state)
{
    (void)state;
    free(T);
    return 0;
}

static size_t find(const char *q, const char *brand, uint16_t *idx, bl_ec_match_t *how)
{
    return bl_ec_find(T->e, T->n, q, brand, idx, 64, how);
}

static const char *code_of(uint16_t i)
{
    return T->e[i].code;
}

/* ---- look-up ------------------------------------------------------------------------------- */

/* the fact sheets name 38 codes: SMA SI 34 (F920-F935, W936-W951, F952, W952), Deye 1, SolaX 2, Solis 1 */
static void test_table_holds_every_code_of_the_fact_sheets(void **state)
{
    unsigned per[4] = { 0 };
    static const char *const brands[4] = { "SMA", "Deye", "SolaX", "Solis" };
    (void)state;
    for (size_t i = 0; i < T->n; i++)
        for (unsigned b = 0; b < 4; b++)
            per[b] += strcmp(T->e[i].brand, brands[b]) == 0;
    assert_int_equal(per[0], 34);
    assert_int_equal(per[1], 1);
    assert_int_equal(per[2], 2);
    assert_int_equal(per[3], 1);
    assert_int_equal(T->n, 38);
}

/* each code resolves exactly to itself as written, in lower case, and spaced as "F 952" */
static void test_every_code_resolves_as_typed(void **state)
{
    (void)state;
    for (size_t i = 0; i < T->n; i++) {
        char lower[64], spaced[64];
        const char *c = T->e[i].code;
        size_t k = 0, l = strlen(c);
        uint16_t idx[64];
        bl_ec_match_t how;
        bool spaced_once = false;

        for (size_t j = 0; j <= l; j++)
            lower[j] = (char)(c[j] >= 'A' && c[j] <= 'Z' ? c[j] - 'A' + 'a' : c[j]);
        for (size_t j = 0; j < l && k + 2 < sizeof spaced; j++) {
            if (!spaced_once && j > 0 && c[j] >= '0' && c[j] <= '9' && !(c[j - 1] >= '0' && c[j - 1] <= '9')) {
                spaced[k++] = ' ';
                spaced_once = true;
            }
            spaced[k++] = c[j];
        }
        spaced[k] = '\0';
        const char *forms[3] = { c, lower, spaced };
        for (unsigned f = 0; f < 3; f++) {
            size_t n = find(forms[f], T->e[i].brand, idx, &how);
            if (n != 1 || idx[0] != i || how != BL_EC_MATCH_EXACT)
                fail_msg("'%s' (%s) resolves to %u codes, first %s", forms[f], T->e[i].brand, (unsigned)n,
                         n ? code_of(idx[0]) : "-");
        }
    }
}

/* "952" is a fault and a warning on the Sunny Island: both, the fault first (table order) */
static void test_a_bare_number_lists_every_code_with_it(void **state)
{
    uint16_t idx[64];
    bl_ec_match_t how;
    (void)state;
    assert_int_equal(find("952", NULL, idx, &how), 2);
    assert_int_equal(how, BL_EC_MATCH_NUMBER);
    assert_string_equal(code_of(idx[0]), "F952");
    assert_string_equal(code_of(idx[1]), "W952");
    assert_int_equal(find("102", NULL, idx, &how), 1);
    assert_string_equal(code_of(idx[0]), "IE102");
}

/* "F92" starts F920..F929: ten alarm codes, ambiguous by design */
static void test_a_prefix_lists_the_codes_it_starts(void **state)
{
    uint16_t idx[64];
    bl_ec_match_t how;
    (void)state;
    assert_int_equal(find("f92", NULL, idx, &how), 10);
    assert_int_equal(how, BL_EC_MATCH_PREFIX);
    assert_string_equal(code_of(idx[0]), "F920");
    assert_string_equal(code_of(idx[9]), "F929");
    assert_int_equal(find("w9", "sma", idx, &how), 17); /* W952 and W936..W951 */
}

/* the manual's names and the XA/XW numbering reach the same entries */
static void test_aliases_and_names_resolve(void **state)
{
    uint16_t idx[64];
    bl_ec_match_t how;
    (void)state;
    assert_int_equal(find("xa01", NULL, idx, &how), 1);
    assert_int_equal(how, BL_EC_MATCH_ALIAS);
    assert_string_equal(code_of(idx[0]), "F920");
    assert_int_equal(find("XW 16", NULL, idx, &how), 1);
    assert_string_equal(code_of(idx[0]), "W951");
    assert_int_equal(find("extbmstimeout", NULL, idx, &how), 1);
    assert_string_equal(code_of(idx[0]), "F952");
    assert_int_equal(find("batname fail", NULL, idx, &how), 1);
    assert_string_equal(code_of(idx[0]), "BatName-FAIL");
}

/* --brand narrows; a code of another brand is not found under it */
static void test_brand_filter_ignores_case(void **state)
{
    uint16_t idx[64];
    (void)state;
    assert_int_equal(find("IE102", "solax", idx, NULL), 1);
    assert_int_equal(find("IE102", "SMA", idx, NULL), 0);
    assert_int_equal(find("952", "SOLAX", idx, NULL), 0);
}

/* unknown codes: nothing found, the close ones suggested nearest first */
static void test_unknown_code_gets_close_suggestions(void **state)
{
    uint16_t idx[8];
    (void)state;
    assert_int_equal(find("Z999", NULL, idx, NULL), 0);
    assert_int_equal(find("", NULL, idx, NULL), 0);
    assert_int_equal(find("--", NULL, idx, NULL), 0);
    assert_true(bl_ec_suggest(T->e, T->n, "F953", NULL, idx, 8) >= 2);
    assert_string_equal(code_of(idx[0]), "F952");          /* one digit off, first in the table */
    assert_int_equal(bl_ec_suggest(T->e, T->n, "IE120", NULL, idx, 8), 1);
    assert_string_equal(code_of(idx[0]), "IE102");         /* two digits swapped: distance 2 */
    assert_int_equal(bl_ec_suggest(T->e, T->n, "QQQQQQQ", NULL, idx, 8), 0);
}

static void test_norm_drops_what_displays_and_users_add(void **state)
{
    char out[BL_EC_NORM];
    (void)state;
    assert_int_equal(bl_ec_norm(" f-952 ", out, sizeof out), 4);
    assert_string_equal(out, "F952");
    assert_int_equal(bl_ec_norm("ie_1.02", out, sizeof out), 5);
    assert_string_equal(out, "IE102");
    assert_int_equal(bl_ec_norm("0123456789012345678901234567890123456789", out, sizeof out), 0); /* too long */
}

/* ---- causes --------------------------------------------------------------------------------- */

static void test_causes_are_diagnose_words(void **state)
{
    (void)state;
    assert_true(bl_diag_cause_valid("gap"));
    assert_true(bl_diag_cause_valid("identity_rejected"));
    assert_true(bl_diag_cause_valid("communication_fault"));
    assert_true(bl_diag_cause_valid("battery_mismatch"));
    assert_true(bl_diag_cause_valid("alarm.short_circuit"));
    assert_true(bl_diag_cause_valid("warning.cell_imbalance"));
    assert_false(bl_diag_cause_valid("alarm.nope"));
    assert_false(bl_diag_cause_valid("comm_loss"));
    assert_false(bl_diag_cause_valid(NULL));
    for (size_t i = 0; i < T->n; i++)
        for (unsigned c = 0; c < T->e[i].ncauses; c++)
            assert_true(bl_diag_cause_valid(T->e[i].causes[c]));
}

/* a gap makes the SI show F952 and W952; the SolaX's refused type IE102 */
static void test_codes_by_cause(void **state)
{
    unsigned gap = 0, ident = 0;
    (void)state;
    for (size_t i = 0; i < T->n; i++) {
        gap += bl_ec_has_cause(&T->e[i], "gap");
        ident += bl_ec_has_cause(&T->e[i], "identity_rejected") && bl_ec_applies(&T->e[i], "SolaX", "solax-x3-g4");
    }
    assert_int_equal(gap, 2);
    assert_int_equal(ident, 1);
}

/* ---- the table against the profiles ------------------------------------------------------ */

/* a display code (letters then digits: F952, IE102) a profile names must be in the table
 * for its brand, and every profile the table names must exist with that brand */
static bool display_code(const char *c)
{
    size_t i = 0, d = 0;
    while (c[i] >= 'A' && c[i] <= 'Z')
        i++;
    while (c[i + d] >= '0' && c[i + d] <= '9')
        d++;
    return i >= 1 && i <= 3 && d >= 2 && c[i + d] == '\0';
}

static void check_profile_code(const bl_inv_profile_t *p, const char *code)
{
    uint16_t idx[64];
    bl_ec_match_t how;
    if (code[0] == '\0' || !display_code(code))
        return;
    if (find(code, p->brand, idx, &how) != 1 || how != BL_EC_MATCH_EXACT || !bl_ec_applies(&T->e[idx[0]], p->brand, p->name))
        fail_msg("profile %s names %s, which the table lacks for %s", p->name, code, p->brand);
}

static void test_profiles_and_table_agree(void **state)
{
    static bl_profile_file_t pf;
    char err[512], path[512];
    (void)state;
    for (size_t i = 0; i < T->n; i++)
        for (unsigned k = 0; k < T->e[i].nprofiles; k++) {
            snprintf(path, sizeof path, "%s/share/profiles/%s.yaml", BL_SOURCE_DIR, T->e[i].profiles[k]);
            if (bl_profile_load(&pf, path, err, sizeof err) != 0)
                fail_msg("%s %s names profile %s: %s", T->e[i].brand, T->e[i].code, T->e[i].profiles[k], err);
            assert_string_equal(pf.p.brand, T->e[i].brand);
        }
    static const char *const named[] = { "sma-sunny-island", "solax-x3-g4", "solis-hv", "deye-sunsynk-lv" };
    for (unsigned k = 0; k < 4; k++) {
        const bl_inv_profile_t *p = &pf.p;
        snprintf(path, sizeof path, "%s/share/profiles/%s.yaml", BL_SOURCE_DIR, named[k]);
        assert_int_equal(bl_profile_load(&pf, path, err, sizeof err), 0);
        for (unsigned i = 0; i < p->ntimeouts; i++)
            check_profile_code(p, p->timeouts[i].code);
        for (unsigned i = 0; i < p->nquirks; i++)
            check_profile_code(p, p->quirks[i].code);
        for (unsigned a = 0; a < BL_A_COUNT; a++)
            check_profile_code(p, p->alarm_code[a]);
    }
}

/* ---- bad tables ---------------------------------------------------------------------------- */

static void refused(const char *yaml, const char *want)
{
    static bl_errcode_file_t t;
    char err[512];
    if (bl_errcodes_parse(&t, "codes.yaml", yaml, strlen(yaml), err, sizeof err) != BL_EINVAL)
        fail_msg("accepted: %s", yaml);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' lacks '%s'", err, want);
    assert_int_equal(t.n, 0);
}

#define ENTRY "  - {code: F1, severity: fault, meaning: m, check: c, source: s, confidence: H"

static void test_bad_tables_name_file_line_and_why(void **state)
{
    (void)state;
    refused("X:\n" ENTRY ", causes: [comm_loss]}\n", "codes.yaml:2: causes: 'comm_loss' is not a diagnose cause");
    refused("X:\n" ENTRY ", colour: red}\n", "codes.yaml:2: code: unknown key 'colour'");
    refused("X:\n  - {code: F1, severity: fault, check: c, source: s, confidence: H}\n", "codes.yaml:2: meaning: missing");
    refused("X:\n  - {code: F1, severity: bad, meaning: m, check: c, source: s, confidence: H}\n",
            "codes.yaml:2: severity: 'bad'");
    refused("X:\n  - {code: F1, severity: fault, meaning: m, check: c, source: s, confidence: sure}\n",
            "codes.yaml:2: confidence: 'sure'");
    refused("X:\n" ENTRY "}\n" ENTRY "}\n", "codes.yaml:3: code: X F1 is already listed at line 2");
    refused("X: F1\n", "codes.yaml:1: X: expected a list of codes");
    refused("- a\n", "codes.yaml:1: file: expected a mapping");
    refused("X:\n  - {code: '--', severity: fault, meaning: m, check: c, source: s, confidence: H}\n",
            "codes.yaml:2: code: '--' has no letters or digits");
    refused("X: [\n", "codes.yaml");
}

/* ---- battery files -------------------------------------------------------------------------- */

static void test_shipped_battery_files_load(void **state)
{
    static bl_battery_file_t bf;
    char err[512];
    (void)state;
    assert_int_equal(bl_battery_load(&bf, BL_SOURCE_DIR "/share/batteries/lfp-16s-100ah.yaml", err, sizeof err), 0);
    assert_int_equal(bf.b.cells, 16);
    assert_int_equal(bf.capacity_mAh, 100000);
    assert_int_equal(bf.b.cvl_max_mV, 56800);
    assert_int_equal(bf.b.dvl_min_mV, 44800);
    assert_int_equal(bf.b.ccl_max_mA, 100000);
    assert_string_equal(bf.b.name, "LFP 16S 100 Ah");
    assert_int_equal(bl_battery_load(&bf, BL_SOURCE_DIR "/share/batteries/lfp-15s-100ah.yaml", err, sizeof err), 0);
    assert_int_equal(bf.b.cells, 15);
    assert_int_equal(bf.b.cvl_max_mV, 53250);
}

static void bad_battery(const char *yaml, const char *want)
{
    static bl_battery_file_t bf;
    char err[512];
    if (bl_battery_parse(&bf, "pack.yaml", yaml, strlen(yaml), err, sizeof err) != BL_EINVAL)
        fail_msg("accepted: %s", yaml);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_bad_battery_files_name_file_line_and_why(void **state)
{
    (void)state;
    bad_battery("cells: 16\ncapacity_ah: 100\ncharge_voltage_max_v: 60\n",
                "pack.yaml:3: charge_voltage_max_v: 60.000 V is 3750 mV per cell over 16 cells");
    bad_battery("cells: 16\ncapacity_ah: 100\nchemistry: NMC\n", "pack.yaml:3: chemistry: 'NMC'");
    bad_battery("capacity_ah: 100\n", "pack.yaml:1: cells: missing");
    bad_battery("cells: 3\ncapacity_ah: 100\n", "pack.yaml:1: cells");
    bad_battery("cells: 16\n", "capacity_ah: missing");
    bad_battery("cells: 16\ncapacity_ah: 100\nvolts: 48\n", "pack.yaml:3: battery: unknown key 'volts'");
    bad_battery("cells: 16\ncapacity_ah: 100\nnominal_v: 45\n", "pack.yaml:3: nominal_v: 45.000 V does not fit 16");
    bad_battery("cells: 16\ncapacity_ah: x\n", "pack.yaml:2: capacity_ah");
    /* fuzz/battery: 17 digits overflowed the exact decimal parse when scaled to milli-units */
    bad_battery("# ALFP\ncells: 16\ncapacity_ah: 09972078000087229\n", "pack.yaml:3: capacity_ah: '09972078000087229' is not a number");
    bad_battery("cells: 16\ncapacity_ah: 100\ndischarge_voltage_min_v: 20\n", "pack.yaml:3: discharge_voltage_min_v");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_holds_every_code_of_the_fact_sheets),
        cmocka_unit_test(test_every_code_resolves_as_typed),
        cmocka_unit_test(test_a_bare_number_lists_every_code_with_it),
        cmocka_unit_test(test_a_prefix_lists_the_codes_it_starts),
        cmocka_unit_test(test_aliases_and_names_resolve),
        cmocka_unit_test(test_brand_filter_ignores_case),
        cmocka_unit_test(test_unknown_code_gets_close_suggestions),
        cmocka_unit_test(test_norm_drops_what_displays_and_users_add),
        cmocka_unit_test(test_causes_are_diagnose_words),
        cmocka_unit_test(test_codes_by_cause),
        cmocka_unit_test(test_profiles_and_table_agree),
        cmocka_unit_test(test_bad_tables_name_file_line_and_why),
        cmocka_unit_test(test_shipped_battery_files_load),
        cmocka_unit_test(test_bad_battery_files_name_file_line_and_why),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
