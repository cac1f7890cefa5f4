/* Fuzz the inverter error-code table parser (libyaml tree -> bl_errcode_t): what parses
 * must answer look-ups and suggestions for codes cut from the input itself, and every
 * refusal must name the file and line. */
#include "bmslink/errload.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bl_errcode_file_t t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], q[24];
    uint16_t idx[16];
    size_t n = size < sizeof q - 1 ? size : sizeof q - 1;

    if (bl_errcodes_parse(&t, "fuzz.yaml", (const char *)data, size, err, sizeof err) != 0) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0)
            __builtin_trap();
        return 0;
    }
    memcpy(q, data, n);
    q[n] = '\0';
    (void)bl_ec_find(t.e, t.n, q, NULL, idx, 16, NULL);
    (void)bl_ec_suggest(t.e, t.n, q, NULL, idx, 16);
    for (size_t i = 0; i < t.n; i++) {
        size_t k = bl_ec_find(t.e, t.n, t.e[i].code, t.e[i].brand, idx, 16, NULL);
        if (k == 0) /* every code the table holds resolves */
            __builtin_trap();
    }
    return 0;
}
