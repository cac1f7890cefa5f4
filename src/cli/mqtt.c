/*
 * bmslink bridge --mqtt: the gateway's state on an MQTT broker through
 * libmosquitto, with Home Assistant MQTT discovery so that the battery shows
 * up there without configuration.
 *
 *   PREFIX/ID/status               "online" / "offline" (retained; the will says "offline")
 *   PREFIX/ID/state                the record the inverter is told, one JSON object (retained)
 *   PREFIX/ID/alarms               {"alarms":[..],"warnings":[..],"protections":[..]}
 *   PREFIX/ID/link                 {"inverter":"active","packs_in_use":2,"safe_state":false}
 *   PREFIX/ID/pack/N/state|alarms  each pack's own record
 *   PREFIX/ID/pack/N/link          "unknown" / "active" / "timeout"
 *   homeassistant/<component>/<node>/<object>/config   discovery (retained)
 *
 * Fields a record lacks are null in the state: Home Assistant shows them as
 * unknown, never as 0. Messages go out with QoS 1, so closing waits for the
 * broker's acknowledgements.
 */
#include "bridge.h"
#include "cli.h"
#include "out.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MQTT_MIN_INTERVAL_US 1000000u /* at most one update per second */
#define TOPIC_MAX 256
#define CONNACK_WAIT_MS 3000u

struct cli_mqtt {
    struct mosquitto *mosq;
    char prefix[96], id[64], node[80];
    char out_protocol[48];
    volatile int connected;
    volatile int refused;        /* the broker's CONNACK code when it said no (bad password, ...) */
    volatile uint64_t published, acked;
    bool discovered, pack_discovered[BL_GW_MAX_PACKS];
    uint64_t last_us;
    bl_out_t o;
};

/* Sensors of the record: key, Home Assistant device class (NULL: none), unit shown. */
static const struct {
    const char *dclass, *unit, *name;
    uint8_t field;
    bool per_pack;
} sensors[] = {
    { "battery", "%", "SOC", BL_F_SOC, true },
    { NULL, "%", "SOH", BL_F_SOH, false },
    { "voltage", "V", "Voltage", BL_F_VOLTAGE, true },
    { "current", "A", "Current", BL_F_CURRENT, true },
    { "temperature", "°C", "Temperature", BL_F_TEMP, true },
    { "temperature", "°C", "Lowest temperature", BL_F_TEMP_MIN, false },
    { "temperature", "°C", "Highest temperature", BL_F_TEMP_MAX, false },
    { "voltage", "V", "Lowest cell", BL_F_CELL_V_MIN, false },
    { "voltage", "V", "Highest cell", BL_F_CELL_V_MAX, false },
    { "voltage", "V", "Charge voltage limit", BL_F_CVL, false },
    { "current", "A", "Charge current limit", BL_F_CCL, true },
    { "current", "A", "Discharge current limit", BL_F_DCL, true },
    { "voltage", "V", "Discharge voltage limit", BL_F_DVL, false },
    { NULL, "Ah", "Capacity", BL_F_CAPACITY, false },
    { NULL, NULL, "Modules", BL_F_MODULE_COUNT, false },
    { NULL, NULL, "Cycles", BL_F_CYCLE_COUNT, false },
};

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    cli_mqtt_t *m = obj;
    char topic[TOPIC_MAX];
    int mid;

    if (rc != 0) {
        m->refused = rc;
        return;
    }
    m->connected = 1;
    m->discovered = false; /* a new session (the broker may have restarted): say it all again */
    memset(m->pack_discovered, 0, sizeof m->pack_discovered);
    snprintf(topic, sizeof topic, "%s/%s/status", m->prefix, m->id);
    if (mosquitto_publish(mosq, &mid, topic, 6, "online", 1, true) == MOSQ_ERR_SUCCESS)
        m->published++;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    cli_mqtt_t *m = obj;
    (void)mosq;
    (void)rc;
    m->connected = 0;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    cli_mqtt_t *m = obj;
    (void)mosq;
    (void)mid;
    m->acked++;
}

/* mqtt://HOST[:PORT][/PREFIX], mqtts://... (TLS, port 8883 by default) */
static int parse_url(const char *url, char *host, size_t hn, int *port, char *prefix, size_t pn, bool *tls)
{
    const char *h, *end, *colon, *slash;
    size_t len;

    *tls = strncmp(url, "mqtts://", 8) == 0;
    if (strncmp(url, "mqtt://", 7) != 0 && !*tls)
        return -1;
    h = url + (*tls ? 8 : 7);
    slash = strchr(h, '/');
    end = slash ? slash : h + strlen(h);
    colon = memchr(h, ':', (size_t)(end - h));
    len = (size_t)((colon ? colon : end) - h);
    if (len == 0 || len >= hn)
        return -1;
    memcpy(host, h, len);
    host[len] = '\0';
    *port = *tls ? 8883 : 1883;
    if (colon != NULL) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p < 1 || p > 65535)
            return -1;
        *port = (int)p;
    }
    snprintf(prefix, pn, "%s", slash && slash[1] ? slash + 1 : "bmslink");
    len = strlen(prefix);
    if (len > 0 && prefix[len - 1] == '/')
        prefix[len - 1] = '\0';
    if (strpbrk(prefix, "#+") != NULL)
        return -1;
    return 0;
}

/* The first line of the password file, without its line end. A password is never taken
 * from the command line (ps and shell histories show those). */
static int read_password(const char *path, char *pw, size_t n)
{
    FILE *fp = fopen(path, "r");
    struct stat st;
    size_t len;

    if (fp == NULL) {
        cli_err("--mqtt-password-file %s: cannot open: %s", path, strerror(errno));
        return BL_EXIT_IO;
    }
    if (fstat(fileno(fp), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
        cli_err("--mqtt-password-file %s: warning: readable by others (chmod 600 it)", path);
    if (fgets(pw, (int)n, fp) == NULL) {
        fclose(fp);
        cli_err("--mqtt-password-file %s:1: empty: the first line is the password", path);
        return BL_EXIT_USAGE;
    }
    fclose(fp);
    len = strcspn(pw, "\r\n");
    if (len == strlen(pw) && len == n - 1) {
        cli_err("--mqtt-password-file %s:1: longer than %zu characters", path, n - 2);
        return BL_EXIT_USAGE;
    }
    pw[len] = '\0';
    return BL_EXIT_OK;
}

/* Credentials and TLS before connecting. BL_EXIT_* (printed). */
static int secure(cli_mqtt_t *m, const char *url, bool tls, const cli_mqtt_auth_t *a)
{
    int rc;

    if (a->password_file != NULL && a->user == NULL) {
        cli_err("--mqtt-password-file needs --mqtt-user (the broker checks the pair)");
        return BL_EXIT_USAGE;
    }
    if (a->user != NULL) {
        char pw[512] = "";
        if (a->password_file != NULL && (rc = read_password(a->password_file, pw, sizeof pw)) != BL_EXIT_OK)
            return rc;
        rc = mosquitto_username_pw_set(m->mosq, a->user, a->password_file ? pw : NULL);
        memset(pw, 0, sizeof pw); /* not left on the stack longer than needed */
        if (rc != MOSQ_ERR_SUCCESS) {
            cli_err("--mqtt-user: %s", mosquitto_strerror(rc));
            return BL_EXIT_USAGE;
        }
    }
    if (!tls && (a->cafile || a->capath || a->certfile || a->keyfile || a->insecure)) {
        cli_err("--mqtt %s: TLS options need an mqtts:// URL", url);
        return BL_EXIT_USAGE;
    }
    if (!tls)
        return BL_EXIT_OK;
    if ((a->certfile == NULL) != (a->keyfile == NULL)) {
        cli_err("--mqtt-cert and --mqtt-key go together (a client certificate and its key)");
        return BL_EXIT_USAGE;
    }
    /* without --mqtt-cafile the system's trust store: a broker with a public certificate */
    rc = mosquitto_tls_set(m->mosq, a->cafile, a->cafile || a->capath ? a->capath : "/etc/ssl/certs", a->certfile,
                           a->keyfile, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        cli_err("--mqtt %s: TLS: %s (--mqtt-cafile %s, --mqtt-cert %s, --mqtt-key %s)", url,
                rc == MOSQ_ERR_INVAL ? "a file cannot be read" : mosquitto_strerror(rc), a->cafile ? a->cafile : "-",
                a->certfile ? a->certfile : "-", a->keyfile ? a->keyfile : "-");
        return BL_EXIT_USAGE;
    }
    if (a->insecure)
        mosquitto_tls_insecure_set(m->mosq, true);
    return BL_EXIT_OK;
}

static const char *connack_str(int rc)
{
    switch (rc) {
    case 1: return "refused: protocol version";
    case 2: return "refused: client id";
    case 3: return "refused: broker unavailable";
    case 4: return "refused: bad user name or password";
    case 5: return "refused: not authorised (--mqtt-user, --mqtt-password-file)";
    default: return "refused";
    }
}

int cli_mqtt_open(cli_mqtt_t **out, const char *url, const char *id, const cli_mqtt_auth_t *auth)
{
    static const cli_mqtt_auth_t none;
    cli_mqtt_t *m;
    char host[128], client[128], topic[TOPIC_MAX];
    int port, rc;
    bool tls;

    *out = NULL;
    if (strlen(id) == 0 || strlen(id) >= 64 || strpbrk(id, "/#+ ") != NULL) {
        cli_err("--mqtt-id '%s': 1..63 characters without '/', '#', '+' or blanks", id);
        return BL_EXIT_USAGE;
    }
    if ((m = calloc(1, sizeof *m)) == NULL) {
        cli_err("--mqtt: out of memory");
        return BL_EXIT_IO;
    }
    if (parse_url(url, host, sizeof host, &port, m->prefix, sizeof m->prefix, &tls) < 0) {
        free(m);
        cli_err("--mqtt '%s': expected mqtt://HOST[:PORT][/PREFIX] or mqtts://... (e.g. mqtt://localhost:1883/bmslink)",
                url);
        return BL_EXIT_USAGE;
    }
    snprintf(m->id, sizeof m->id, "%s", id);
    snprintf(m->node, sizeof m->node, "bmslink_%s", id);
    for (char *c = m->node; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            *c = '_';
    mosquitto_lib_init();
    snprintf(client, sizeof client, "bmslink-%s-%ld", id, (long)getpid());
    m->mosq = mosquitto_new(client, true, m);
    if (m->mosq == NULL) {
        cli_err("--mqtt %s: cannot create a client", url);
        free(m);
        mosquitto_lib_cleanup();
        return BL_EXIT_IO;
    }
    if ((rc = secure(m, url, tls, auth ? auth : &none)) != BL_EXIT_OK) {
        mosquitto_destroy(m->mosq);
        mosquitto_lib_cleanup();
        free(m);
        return rc;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    snprintf(topic, sizeof topic, "%s/%s/status", m->prefix, m->id);
    mosquitto_will_set(m->mosq, topic, 7, "offline", 1, true);
    rc = mosquitto_connect(m->mosq, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS) {
        cli_err("--mqtt %s: cannot connect to %s:%d: %s", url, host, port,
                rc == MOSQ_ERR_ERRNO ? "connection refused or unreachable" : mosquitto_strerror(rc));
        mosquitto_destroy(m->mosq);
        mosquitto_lib_cleanup();
        free(m);
        return BL_EXIT_IO;
    }
    if ((rc = mosquitto_loop_start(m->mosq)) != MOSQ_ERR_SUCCESS) {
        cli_err("--mqtt %s: %s", url, mosquitto_strerror(rc));
        mosquitto_destroy(m->mosq);
        mosquitto_lib_cleanup();
        free(m);
        return BL_EXIT_IO;
    }
    /* wait for the broker's CONNACK: startup problems show at once, and an offline translation
     * (done in milliseconds) does not publish into a connection that is not there yet */
    for (unsigned waited = 0; !m->connected && !m->refused && waited < CONNACK_WAIT_MS; waited += 5) {
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    if (!m->connected) {
        if (m->refused)
            cli_err("--mqtt %s: %s:%d %s", url, host, port, connack_str(m->refused));
        else
            cli_err("--mqtt %s: %s:%d did not accept the connection within %u ms%s", url, host, port, CONNACK_WAIT_MS,
                    tls ? " (TLS: is the broker's certificate signed by --mqtt-cafile, for this host name?)" : "");
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_stop(m->mosq, true);
        mosquitto_destroy(m->mosq);
        mosquitto_lib_cleanup();
        free(m);
        return BL_EXIT_IO;
    }
    *out = m;
    return BL_EXIT_OK;
}

/* ---- payloads ---- */

static FILE *mem_open(cli_mqtt_t *m, char **buf, size_t *len)
{
    FILE *fp = open_memstream(buf, len);
    if (fp != NULL)
        out_init(&m->o, fp);
    return fp;
}

/* Close the memory stream (that is when *buf and *len become valid) and publish it. */
static void send_mem(cli_mqtt_t *m, const char *topic, FILE *fp, char **buf, size_t *len)
{
    int mid;
    out_flush(&m->o);
    fclose(fp);
    if (*buf != NULL && mosquitto_publish(m->mosq, &mid, topic, (int)*len, *buf, 1, true) == MOSQ_ERR_SUCCESS)
        m->published++;
    free(*buf);
    *buf = NULL;
    *len = 0;
}

static void send_str(cli_mqtt_t *m, const char *topic, const char *payload)
{
    int mid;
    if (mosquitto_publish(m->mosq, &mid, topic, (int)strlen(payload), payload, 1, true) == MOSQ_ERR_SUCCESS)
        m->published++;
}

/* "key": value, or "key": null when the record lacks it (shown as unknown, never as 0) */
static void member(bl_out_t *o, const bl_record_t *r, unsigned f, bool null_ok, bool all_null)
{
    if (!r->f[f].valid || all_null) {
        if (null_ok)
            j_knull(o, bl_field_info(f)->key);
        return;
    }
    j_key(o, bl_field_info(f)->key);
    cli_json_field(o, r, f);
}

static void state_json(cli_mqtt_t *m, const bl_record_t *r, bool all_null)
{
    for (unsigned i = 0; i < BL_ARRAY_LEN(sensors); i++)
        member(&m->o, r, sensors[i].field, true, all_null);
    for (unsigned f = BL_F_CHARGE_ENABLE; f <= BL_F_FULL_CHARGE_REQ; f++)
        member(&m->o, r, f, true, all_null);
    for (unsigned f = BL_F_MANUFACTURER; f <= BL_F_FIRMWARE; f++)
        member(&m->o, r, f, false, all_null);
}

static void publish_record(cli_mqtt_t *m, const char *base, const bl_record_t *r, const char *extra_key,
                           bool extra, bool all_null)
{
    char topic[TOPIC_MAX], *buf = NULL;
    size_t len = 0;
    FILE *fp;

    snprintf(topic, sizeof topic, "%s/state", base);
    if ((fp = mem_open(m, &buf, &len)) == NULL)
        return;
    m->o.first = true;
    j_obj(&m->o);
    state_json(m, r, all_null);
    if (extra_key != NULL)
        j_kbool(&m->o, extra_key, extra);
    j_end_obj(&m->o);
    send_mem(m, topic, fp, &buf, &len);

    snprintf(topic, sizeof topic, "%s/alarms", base);
    if ((fp = mem_open(m, &buf, &len)) == NULL)
        return;
    m->o.first = true;
    j_obj(&m->o);
    cli_json_alarms(&m->o, r->active);
    j_end_obj(&m->o);
    send_mem(m, topic, fp, &buf, &len);
}

/* ---- Home Assistant discovery ---- */

static void device_json(cli_mqtt_t *m, int pack)
{
    bl_out_t *o = &m->o;
    char ident[128], name[128];

    if (pack < 0) {
        snprintf(ident, sizeof ident, "%s", m->node);
        snprintf(name, sizeof name, "bmslink %s", m->id);
    } else {
        snprintf(ident, sizeof ident, "%s_pack%d", m->node, pack);
        snprintf(name, sizeof name, "bmslink %s pack %d", m->id, pack);
    }
    j_key(o, "device");
    j_obj(o);
    j_key(o, "identifiers");
    j_arr(o);
    j_str_el(o, ident);
    j_end_arr(o);
    j_kstr(o, "name", name);
    j_kstr(o, "manufacturer", "bmslink");
    j_kstr(o, "model", pack < 0 ? m->out_protocol : "battery pack");
    j_kstr(o, "sw_version", BL_VERSION_STRING);
    if (pack >= 0)
        j_kstr(o, "via_device", m->node);
    j_end_obj(o);
}

static void discovery_one(cli_mqtt_t *m, const char *component, int pack, const char *object, const char *name,
                          const char *state_topic, const char *tmpl, const char *dclass, const char *unit)
{
    char topic[TOPIC_MAX], uid[200], avail[TOPIC_MAX], *buf = NULL, node[100];
    size_t len = 0;
    FILE *fp;
    bl_out_t *o = &m->o;

    if (pack < 0)
        snprintf(node, sizeof node, "%s", m->node);
    else
        snprintf(node, sizeof node, "%s_pack%d", m->node, pack);
    snprintf(topic, sizeof topic, "homeassistant/%s/%s/%s/config", component, node, object);
    snprintf(uid, sizeof uid, "%s_%s", node, object);
    snprintf(avail, sizeof avail, "%s/%s/status", m->prefix, m->id);
    if ((fp = mem_open(m, &buf, &len)) == NULL)
        return;
    o->first = true;
    j_obj(o);
    j_kstr(o, "name", name);
    j_kstr(o, "unique_id", uid);
    j_kstr(o, "object_id", uid);
    j_kstr(o, "state_topic", state_topic);
    j_kstr(o, "value_template", tmpl);
    j_kstr(o, "availability_topic", avail);
    if (dclass != NULL)
        j_kstr(o, "device_class", dclass);
    if (unit != NULL)
        j_kstr(o, "unit_of_measurement", unit);
    if (strcmp(component, "sensor") == 0)
        j_kstr(o, "state_class", "measurement");
    device_json(m, pack);
    j_end_obj(o);
    send_mem(m, topic, fp, &buf, &len);
}

static void discover(cli_mqtt_t *m, int pack, uint32_t fields)
{
    char base[200], state[TOPIC_MAX], tmpl[160], obj[64];

    if (pack < 0)
        snprintf(base, sizeof base, "%s/%s", m->prefix, m->id);
    else
        snprintf(base, sizeof base, "%s/%s/pack/%d", m->prefix, m->id, pack);
    snprintf(state, sizeof state, "%s/state", base);
    for (unsigned i = 0; i < BL_ARRAY_LEN(sensors); i++) {
        const char *key = bl_field_info(sensors[i].field)->key;
        if ((pack >= 0 && !sensors[i].per_pack) || !(fields & BL_BIT(sensors[i].field)))
            continue;
        snprintf(tmpl, sizeof tmpl, "{{ value_json.%s }}", key);
        discovery_one(m, "sensor", pack, key, sensors[i].name, state, tmpl, sensors[i].dclass, sensors[i].unit);
    }
    snprintf(state, sizeof state, "%s/alarms", base);
    discovery_one(m, "binary_sensor", pack, "alarm", "Alarm", state,
                  "{{ 'ON' if (value_json.alarms | length) + (value_json.protections | length) > 0 else 'OFF' }}",
                  "problem", NULL);
    discovery_one(m, "binary_sensor", pack, "warning", "Warning", state,
                  "{{ 'ON' if (value_json.warnings | length) > 0 else 'OFF' }}", "problem", NULL);
    snprintf(state, sizeof state, "%s/link", base);
    if (pack >= 0) {
        discovery_one(m, "binary_sensor", pack, "link", "Link", state, "{{ 'ON' if value == 'active' else 'OFF' }}",
                      "connectivity", NULL);
        return;
    }
    discovery_one(m, "binary_sensor", pack, "safe_state", "Safe state (limits 0 A)", state,
                  "{{ 'ON' if value_json.safe_state else 'OFF' }}", "problem", NULL);
    discovery_one(m, "sensor", pack, "packs_in_use", "Packs in use", state, "{{ value_json.packs_in_use }}", NULL,
                  NULL);
    snprintf(state, sizeof state, "%s/state", base);
    for (unsigned f = BL_F_CHARGE_ENABLE; f <= BL_F_DISCHARGE_ENABLE; f++) {
        const char *key = bl_field_info(f)->key;
        snprintf(obj, sizeof obj, "%s", key);
        snprintf(tmpl, sizeof tmpl, "{{ 'ON' if value_json.%s else 'OFF' }}", key);
        discovery_one(m, "binary_sensor", pack, obj, f == BL_F_CHARGE_ENABLE ? "Charge allowed" : "Discharge allowed",
                      state, tmpl, NULL, NULL);
    }
}

void cli_mqtt_publish(cli_mqtt_t *m, const bl_gw_t *gw, const char *const *pack_uri, uint64_t ts_us)
{
    char base[176], topic[TOPIC_MAX], *buf = NULL;
    size_t len = 0;
    FILE *fp;
    bl_caps_t caps;
    uint32_t all = 0;

    (void)pack_uri;
    if (m == NULL || !m->connected)
        return;
    if (m->discovered && ts_us >= m->last_us && ts_us - m->last_us < MQTT_MIN_INTERVAL_US)
        return;
    m->last_us = ts_us;
    snprintf(m->out_protocol, sizeof m->out_protocol, "gateway to %s", gw->cfg.out->name);
    for (unsigned i = 0; i < gw->npacks; i++) {
        bl_proto_caps(gw->packs[i].p, &caps);
        all |= caps.fields;
    }
    if (!m->discovered) {
        discover(m, -1, all | BL_BIT(BL_F_CAPACITY) | BL_BIT(BL_F_MODULE_COUNT));
        m->discovered = true;
    }
    snprintf(base, sizeof base, "%s/%s", m->prefix, m->id);
    publish_record(m, base, &gw->agg, "safe_state", gw->out_safe, gw->holding);
    snprintf(topic, sizeof topic, "%s/link", base);
    if ((fp = mem_open(m, &buf, &len)) != NULL) {
        m->o.first = true;
        j_obj(&m->o);
        j_kstr(&m->o, "inverter", bl_gw_link_str(gw->inv_link));
        j_kint(&m->o, "packs_in_use", gw->rep.nused);
        j_kint(&m->o, "packs", gw->npacks);
        j_kbool(&m->o, "safe_state", gw->out_safe);
        j_kbool(&m->o, "holding", gw->holding);
        j_end_obj(&m->o);
        send_mem(m, topic, fp, &buf, &len);
    }
    for (unsigned i = 0; i < gw->npacks && i < BL_GW_MAX_PACKS; i++) {
        const bl_gw_pack_t *k = &gw->packs[i];
        char pb[200];
        if (!m->pack_discovered[i]) {
            bl_proto_caps(k->p, &caps);
            discover(m, (int)i, caps.fields);
            m->pack_discovered[i] = true;
        }
        snprintf(pb, sizeof pb, "%s/pack/%u", base, i);
        publish_record(m, pb, &k->rec, "in_use", k->used, false);
        snprintf(topic, sizeof topic, "%s/link", pb);
        send_str(m, topic, bl_gw_link_str(k->link));
    }
}

void cli_mqtt_counts(const cli_mqtt_t *m, uint64_t *published, uint64_t *acked)
{
    *published = m->published;
    *acked = m->acked;
}

unsigned cli_mqtt_close(cli_mqtt_t *m, unsigned timeout_ms)
{
    unsigned lost;

    if (m == NULL)
        return 0;
    if (m->connected) {
        char topic[TOPIC_MAX];
        snprintf(topic, sizeof topic, "%s/%s/status", m->prefix, m->id);
        send_str(m, topic, "offline");
    }
    for (unsigned waited = 0; m->connected && m->acked < m->published && waited < timeout_ms; waited += 10) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    lost = m->acked < m->published ? (unsigned)(m->published - m->acked) : 0;
    mosquitto_disconnect(m->mosq);
    mosquitto_loop_stop(m->mosq, false);
    mosquitto_destroy(m->mosq);
    mosquitto_lib_cleanup();
    free(m);
    return lost;
}
