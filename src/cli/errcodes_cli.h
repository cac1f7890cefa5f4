/* Inverter error codes on the command line: the shipped table, how a code is shown,
 * which codes a diagnose finding means on an inverter (explain, profiles, diagnose). */
#ifndef BL_CLI_ERRCODES_CLI_H
#define BL_CLI_ERRCODES_CLI_H

#include "bmslink/errload.h"
#include "out.h"

#define CLI_EC_SHOW 16 /* codes listed for one finding */

/* The table: $BMSLINK_ERRORCODES, the build's share/errorcodes.yaml, or the installed one.
 * Loaded once; NULL after printing why (a bad file: exit 3). */
const bl_errcode_file_t *cli_errcodes(void);

/* The path cli_errcodes() reads. */
const char *cli_errcodes_path(void);

/* One code in full (explain, profiles NAME): indent before each line. */
void cli_ec_text(bl_out_t *o, const bl_errcode_t *e, const char *indent);
/* One code as a JSON object (the members explain, profiles and diagnose share). */
void cli_ec_json(bl_out_t *o, const bl_errcode_t *e);

/*
 * The codes an inverter of this brand / profile / firmware shows for a finding (its id,
 * its problem, the alarms it is about; a code with `after` only once the finding's
 * span reached it). fw NULL: any firmware.
 * @return the number stored in idx (at most cap)
 */
size_t cli_ec_for_finding(const bl_errcode_file_t *t, const bl_diag_finding_t *f, const char *brand,
                          const char *profile, const char *fw, uint16_t *idx, size_t cap);

#endif
