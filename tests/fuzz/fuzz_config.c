/* Fuzz target: the YAML configuration (conf/yaml.c, conf/schema.c, conf/validate.c) parsed
 * from memory, validated, printed (conf/print.c) and, when it validated,
 * printed output loaded again: what --print-config writes must load.
 * Input: YAML text.
 * (libfyaml 0.7.12 loops forever on a directive line with a byte that is not
 * UTF-8, "%\xff": yaml.c refuses such input first; see regressions/.) */
#include "conf/config.h"
#include "core/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
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
