/* The config loader on arbitrary text: diagnostics, never a crash. */
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_diag diag = {};
        struct config *c = NULL;
        char *text;

        if (size > 256 * 1024)
                return 0;
        text = xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';
        if (config_load_string(text, "fuzz.conf", 0, &diag, &c) >= 0)
                config_free(c);
        config_diag_done(&diag);
        free(text);
        return 0;
}
