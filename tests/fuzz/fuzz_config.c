/* Fuzz target: the YAML configuration (conf/yaml.c, conf/config.c) parsed
 * from memory, validated, printed (conf/print.c) and, when it validated,
 * printed output loaded again: what --print-config writes must load.
 * Input: YAML text.
 *
 * Inputs that are not valid UTF-8 are skipped for now: libfyaml 0.7.12
 * loops forever on a directive line with an invalid byte ("%\xff"), see
 * tests/fuzz/known/config/. Remove the check once src/conf/yaml.c rejects
 * such input itself. */
#include "conf/config.h"
#include "core/log.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024 || !valid_utf8(data, size))
        return 0;
    struct vn_config *c = vn_conf_new();
    struct vn_conf_err err;
    memset(&err, 0, sizeof err);
    if (!c)
        return 0;
    if (vn_conf_load_yaml_string(c, "fuzz.yaml", (const char *)data, size, &err) == 0 &&
        vn_conf_validate(c, &err) == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        vn_conf_print(c, f);
        fclose(f);
        struct vn_config *c2 = vn_conf_new();
        if (vn_conf_load_yaml_string(c2, "printed.yaml", text, len, &err) ||
            vn_conf_validate(c2, &err)) {
            fprintf(stderr, "printed configuration does not load: %s\n---\n%s---\n", err.msg,
                    text);
            abort();
        }
        vn_conf_free(c2);
        free(text);
    } else if (strncmp(err.msg, "fuzz.yaml", 9) || strlen(err.msg) < 12) {
        fprintf(stderr, "error without file or reason: '%s'\n", err.msg);
        abort(); /* every failure must say where and why */
    }
    vn_conf_free(c);
    return 0;
}
