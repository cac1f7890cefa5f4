/* Where bmslink's data files are: next to an installed binary, else the source tree it was
 * built from. The installed copy wins so that an installed bmslink never reads a checkout
 * that happens to exist on the same machine. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef BL_SHARE_DIR
#define BL_SHARE_DIR "share"
#endif

static bool exists(const char *p, bool dir)
{
    struct stat st;
    return stat(p, &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

const char *cli_share_path(const char *rel, bool dir, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n > 0) {
        /* <prefix>/bin/bmslink -> <prefix>/share/bmslink/<rel> */
        char *slash;
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if ((slash = strrchr(exe, '/')) != NULL) {
                int w;
                *slash = '\0';
                w = snprintf(buf, cap, "%s/share/bmslink/%s", exe, rel);
                if (w > 0 && (size_t)w < cap && exists(buf, dir))
                    return buf;
            }
        }
    }
    snprintf(buf, cap, "%s/%s", BL_SHARE_DIR, rel);
    return buf;
}
