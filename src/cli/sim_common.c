/* Profiles and scenarios for the command line (see sim_cli.h). */
#include "sim_cli.h"
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef BL_SHARE_DIR
#define BL_SHARE_DIR "share"
#endif

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cli_profiles_dir(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("BMSLINK_PROFILES");
    ssize_t n;

    if (env != NULL && *env)
        return env;
    if (is_dir(BL_SHARE_DIR "/profiles"))
        return BL_SHARE_DIR "/profiles";
    /* installed: <prefix>/bin/bmslink -> <prefix>/share/bmslink/profiles */
    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        char *slash;
        buf[n] = '\0';
        if ((slash = strrchr(buf, '/')) != NULL) {
            *slash = '\0';
            if ((slash = strrchr(buf, '/')) != NULL) {
                *slash = '\0';
                size_t l = strlen(buf);
                if (snprintf(buf + l, sizeof buf - l, "/share/bmslink/profiles") < (int)(sizeof buf - l) &&
                    is_dir(buf))
                    return buf;
            }
        }
    }
    return BL_SHARE_DIR "/profiles";
}

void cli_load_err(void *ctx, const char *msg)
{
    if (ctx != NULL)
        (*(int *)ctx)++;
    cli_err("%s", msg);
}

int cli_profile_load(const char *verb, const char *name, bl_profile_file_t *pf)
{
    char path[1024], err[768];
    const char *dir = cli_profiles_dir();
    bool is_path = strchr(name, '/') != NULL || (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".yaml") == 0);
    int rc;

    if (is_path)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
    rc = bl_profile_load(pf, path, err, sizeof err);
    if (rc == 0)
        return BL_EXIT_OK;
    if (rc == BL_ENOENT && is_path) {
        cli_err("%s: %s", verb, err);
        return BL_EXIT_IO;
    }
    if (rc == BL_ENOENT) {
        bl_profile_file_t *all = NULL;
        int n = bl_profiles_load_dir(dir, &all, NULL, NULL);
        fprintf(stderr, "bmslink: %s: unknown profile '%s'; known: ", verb, name);
        for (int i = 0; i < n; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", all[i].p.name);
        if (n <= 0)
            fprintf(stderr, "none (no profiles in %s)", dir);
        fputc('\n', stderr);
        free(all);
        return BL_EXIT_USAGE;
    }
    cli_err("%s", err);
    return BL_EXIT_USAGE;
}

bool cli_profile_runnable(const char *verb, const bl_profile_file_t *pf)
{
    const bl_inv_profile_t *p = &pf->p;
    if (p->proto == NULL) {
        cli_err("%s: profile %s: protocol '%s' is not in this build yet", verb, p->name, p->protocol_name);
        return false;
    }
    if (bl_proto_root(p->proto)->bus != BL_BUS_CAN) {
        cli_err("%s: profile %s: the closed loop runs on CAN; %s is a %s protocol", verb, p->name,
                p->protocol_name, bl_bus_str(bl_proto_root(p->proto)->bus));
        return false;
    }
    return true;
}

int cli_scenario_load(const char *verb, const char *path, bl_scenario_t *s)
{
    char err[768];
    int rc;
    if (path == NULL) {
        bl_scn_defaults(s);
        return BL_EXIT_OK;
    }
    rc = bl_scenario_load(s, path, err, sizeof err);
    if (rc == 0)
        return BL_EXIT_OK;
    cli_err("%s", err);
    (void)verb;
    /* CLI.md: a bad scenario file is a usage error; an unreadable one is I/O */
    return rc == BL_ENOENT ? BL_EXIT_IO : BL_EXIT_USAGE;
}

void out_clock(bl_out_t *o, uint64_t ms)
{
    uint64_t s = ms / 1000u, d = s / 86400u;
    char buf[40];
    s %= 86400u;
    if (d)
        snprintf(buf, sizeof buf, "%llud %02u:%02u:%02u", (unsigned long long)d, (unsigned)(s / 3600u),
                 (unsigned)(s / 60u % 60u), (unsigned)(s % 60u));
    else
        snprintf(buf, sizeof buf, "%02u:%02u:%02u", (unsigned)(s / 3600u), (unsigned)(s / 60u % 60u),
                 (unsigned)(s % 60u));
    out_str(o, buf);
}
