/* Fuzz the site-limits file parser (bridge --site-limits): YAML through libyaml, then the keys. */
#include "../src/cli/bridge.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cli_site_file_t s;
    char err[512];
    int rc = cli_site_parse("fuzz.yaml", (const char *)data, size, &s, err, sizeof err);
    if (rc != 0 && err[0] == '\0')
        __builtin_trap(); /* every refusal says why */
    if (rc == 0 && (s.site.ccl_mA < 0 || s.site.dcl_mA < 0 || s.site.cvl_mV < 0 || s.site.dvl_mV < 0))
        __builtin_trap();
    return 0;
}
