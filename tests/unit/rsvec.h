/*
 * The RS485 test vectors of ../shared/protocols/vectors/rs485 (CSV files), read as
 * the fact sheets publish them: one frame per row, with its id, protocol,
 * kind, checksum and length verdicts. Tests use the frames and the published
 * verdicts; expected values are written in the tests by hand.
 */
#ifndef BL_TEST_RSVEC_H
#define BL_TEST_RSVEC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[24], protocol[32], variant[32], direction[32], encoding[16];
    char checksum_ok[8], length_ok[8];
    unsigned char frame[1200]; /* wire bytes: ASCII frames get their CR */
    size_t len;
} rsvec_t;

/* one CSV field (quotes with "" escapes); returns the position after the comma */
/* copy at most cap - 1 bytes */
static void rsvec_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const char *rsvec_field(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    int q = 0;
    if (*p == '"') {
        q = 1;
        p++;
    }
    for (; *p; p++) {
        if (q && p[0] == '"' && p[1] == '"') {
            p++;
        } else if (q && *p == '"') {
            q = 0;
            continue;
        } else if (!q && (*p == ',' || *p == '\n' || *p == '\r')) {
            break;
        }
        if (n + 1 < cap)
            out[n++] = *p;
    }
    out[n] = '\0';
    return *p == ',' ? p + 1 : p;
}

static int rsvec_hex(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (; s[0] && s[1] && n < cap; s += 2) {
        char b[3] = { s[0], s[1], 0 };
        out[n++] = (unsigned char)strtoul(b, NULL, 16);
    }
    return (int)n;
}

/* Read every row of vectors/rs485/<file>; returns the count (at most max). */
static size_t rsvec_load(const char *file, rsvec_t *v, size_t max)
{
    char path[512], line[8192], f[16][2048];
    size_t n = 0;
    FILE *fp;
    snprintf(path, sizeof path, "%s/rs485/%s", BL_VECTORS_DIR, file);
    fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    if (fgets(line, sizeof line, fp) == NULL) { /* header */
        fclose(fp);
        return 0;
    }
    while (n < max && fgets(line, sizeof line, fp) != NULL) {
        const char *p = line;
        rsvec_t *r = &v[n];
        for (int i = 0; i < 16; i++)
            p = rsvec_field(p, f[i], sizeof f[i]);
        memset(r, 0, sizeof *r);
        rsvec_copy(r->id, sizeof r->id, f[0]);
        rsvec_copy(r->protocol, sizeof r->protocol, f[1]);
        rsvec_copy(r->variant, sizeof r->variant, f[2]);
        rsvec_copy(r->direction, sizeof r->direction, f[3]);
        rsvec_copy(r->encoding, sizeof r->encoding, f[5]);
        rsvec_copy(r->checksum_ok, sizeof r->checksum_ok, f[10]);
        rsvec_copy(r->length_ok, sizeof r->length_ok, f[11]);
        if (strcmp(r->encoding, "ascii+cr") == 0) {
            r->len = strlen(f[6]);
            memcpy(r->frame, f[6], r->len);
            r->frame[r->len++] = '\r';
        } else {
            r->len = (size_t)rsvec_hex(f[6], r->frame, sizeof r->frame);
        }
        n++;
    }
    fclose(fp);
    return n;
}

/* "~..." frame text -> wire bytes with CR */
static size_t rs_ascii(const char *text, unsigned char *out)
{
    size_t n = strlen(text);
    memcpy(out, text, n);
    out[n] = '\r';
    return n + 1;
}

#endif
