/* Fuzz bridge --config (YAML through libyaml, then the keys, packs, mqtt and inline site limits). */
#include "../src/cli/bridge.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static br_t b; /* large: not on the stack; reset for every input */
    const char *from = NULL;
    const bl_protocol_t *in = NULL;
    char err[600];
    char *text = malloc(size + 1);
    int rc;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&b, 0, sizeof b);
    b.policy = -1;
    b.site.policy = -1;
    rc = br_config_parse(&b, "/etc/bmslink/fuzz.yaml", text, size, &from, &in, false, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        __builtin_trap(); /* every refusal says why */
    if (rc == 0 && b.npacks >= BL_GW_MAX_PACKS)
        __builtin_trap(); /* --from must still fit */
    for (unsigned i = 0; rc == 0 && i < b.npacks; i++)
        if (b.pack[i].uri == NULL || b.pack[i].p == NULL)
            __builtin_trap();
    free(b.cfg_text);
    free(text);
    return 0;
}
