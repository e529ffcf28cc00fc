/* One API request of the poller: builds it from an account, sends it over the HTTP client and
 * turns the response into a classified result, parsed on demand: most polls see exactly what the
 * last one saw, and a digest of the body tells so without parsing it. */
#pragma once

#include "config.h"
#include "gcore.h"
#include "http.h"

#define POLL_DIGEST_SIZE 16

struct poll_result {
        enum api_outcome outcome;
        struct api_error error;       /* outcome != API_OK */
        uint8_t digest[POLL_DIGEST_SIZE]; /* API_OK: SipHash-1-3 of the body, keyed per process */
        const char *body;             /* API_OK: the body, valid during the callback only */
        size_t size;
        bool list;
        bool parsed;                  /* poll_result_parse() succeeded */
        bool object_scoped;           /* a retryable failure that speaks of the requested object,
                                       * not of the API: gcore_status_object_scoped(), or an
                                       * unusable body */
        struct deployment deployment; /* get-one, once parsed; may be moved out by the callee */
        struct deployment_page page;  /* list, once parsed; may be moved out by the callee */
        usec_t elapsed;
};

/* res is freed after the callback returns. */
typedef void (*poll_done_fn)(struct poll_result *res, void *userdata);

int poll_get(struct http_client *c, const struct account *a, int64_t project_id, const char *name,
             poll_done_fn done, void *userdata, struct http_request **ret);
int poll_list(struct http_client *c, const struct account *a, int64_t project_id, uint64_t offset,
              poll_done_fn done, void *userdata, struct http_request **ret);
/* Another GET of the account's API (regions, logs): the same headers, limits and outcome
 * classification; the body is the caller's to parse (poll_result_parse does not apply). */
int poll_fetch(struct http_client *c, const struct account *a, const char *url, poll_done_fn done, void *userdata,
               struct http_request **ret);

/* Turns a finished HTTP response into a result (exposed for tests). list selects the parser. */
void poll_result_from_response(const struct http_response *resp, bool list, usec_t now_realtime,
                               struct poll_result *ret);
/* Parses the body of an API_OK result (during the callback). An unusable body turns the result
 * into a retryable failure ("HTTP 200 with an unusable body: ...") and gives -EBADMSG. */
int poll_result_parse(struct poll_result *r);
void poll_result_done(struct poll_result *r);
