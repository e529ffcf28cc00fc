/* Everything the daemon parses from the network or from its state directory. */
#include "event.h"
#include "gcore.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct deployment d = {};
        struct deployment_page p = {};
        struct api_error e = {};
        struct saved_state s = {};
        struct event *ev = NULL;
        const char *why;
        char *text;
        usec_t v;

        if (size > 4 * 1024 * 1024)
                return 0;
        /* The HTTP layer hands the parser a NUL-terminated buffer; do the same. */
        text = xmalloc(size + 1);
        memcpy(text, data, size);
        text[size] = '\0';

        if (gcore_parse_deployment(text, size, &d, &why) >= 0)
                deployment_done(&d);
        if (gcore_parse_page(text, size, &p, &why) >= 0)
                deployment_page_done(&p);
        gcore_parse_error_body(text, size, &e);
        api_error_done(&e);
        (void) gcore_parse_retry_after(text, 1700000000ULL * USEC_PER_SEC, &v);
        if (state_from_json(text, &s, &why) >= 0) {
                free(state_to_json(&s));
                saved_state_done(&s);
        }
        if (event_from_json(text, &ev) >= 0) {
                free(event_to_json(ev));
                event_free(ev);
        }
        free(text);
        return 0;
}
