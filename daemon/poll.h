/* One API request of the poller: builds it from an account, sends it over the HTTP client and
 * turns the response into a classified, parsed result. */
#pragma once

#include "config.h"
#include "gcore.h"
#include "http.h"

struct poll_result {
        enum api_outcome outcome;
        struct api_error error;       /* outcome != API_OK */
        struct deployment deployment; /* get-one and API_OK; may be moved out by the callee */
        struct deployment_page page;  /* list and API_OK; may be moved out by the callee */
        usec_t elapsed;
};

/* res is freed after the callback returns. */
typedef void (*poll_done_fn)(struct poll_result *res, void *userdata);

int poll_get(struct http_client *c, const struct account *a, int64_t project_id, const char *name,
             poll_done_fn done, void *userdata, struct http_request **ret);
int poll_list(struct http_client *c, const struct account *a, int64_t project_id, uint64_t offset,
              poll_done_fn done, void *userdata, struct http_request **ret);

/* Turns a finished HTTP response into a result (exposed for tests). list selects the parser. */
void poll_result_from_response(const struct http_response *resp, bool list, usec_t now_realtime,
                               struct poll_result *ret);
void poll_result_done(struct poll_result *r);
