/* The Gcore Cloud API: URLs, response parsing, and what an outcome means for polling. */
#pragma once

#include "deployment.h"

enum api_outcome {
        API_OK,
        API_AUTH_FAILED,          /* 401 */
        API_NOT_FOUND,            /* 404 */
        API_RETRYABLE,            /* network, timeouts, 408, 409, 429, 5xx, unusable body */
        API_PERMANENT,            /* other 4xx, redirects, anything else */
        _API_OUTCOME_MAX,
};

/* What went wrong with one request, for logs and events. Never holds the API key. */
struct api_error {
        enum api_outcome outcome;
        long http_status;         /* 0 when no HTTP response */
        usec_t retry_after;       /* from Retry-After, relative; 0 when absent */
        char *exception_class;    /* from Gcore's error body, when present */
        char *message;
        char *request_id;
        char *summary;            /* one line for humans: "HTTP 503: ..." or "timeout after 30s" */
};

struct deployment_page {
        int64_t count;            /* total across pages, as the API reports it */
        struct deployment *items;
        /* Per item, NULL or why its containers cannot be trusted (a static string): that item
         * holds only its name and status, and is that deployment's poll failure, not the page's. */
        const char **unusable;
        size_t n_items;
};

/* base is the account URL without a trailing slash. Names are percent-escaped. */
char *gcore_url_deployment(const char *base, int64_t project_id, const char *name);
char *gcore_url_list(const char *base, int64_t project_id, unsigned limit, uint64_t offset);

/* Parses a get-one body; body[size] must be a NUL (the HTTP layer guarantees it). On failure
 * returns -EBADMSG and a static description in *ret_why. */
int gcore_parse_deployment(const char *body, size_t size, struct deployment *ret, const char **ret_why);
int gcore_parse_page(const char *body, size_t size, struct deployment_page *ret, const char **ret_why);
void deployment_page_done(struct deployment_page *p);

/* Classifies an HTTP status (0: the transfer failed before one arrived). */
enum api_outcome gcore_classify_status(long http_status);
/* Whether a retryable status speaks of the object requested rather than of the API as a whole:
 * 409 and the 5xx a service itself answers (500, 501, 505, ...). 408, 425, 429 and a gateway's
 * 502, 503 and 504 (like network errors and timeouts) are the API's. */
bool gcore_status_object_scoped(long http_status);
/* Fills exception_class/message/request_id from a Gcore error body when it is one. */
void gcore_parse_error_body(const char *body, size_t size, struct api_error *e);
/* Retry-After: delay-seconds or an HTTP-date, relative to now_realtime. -EINVAL if neither. */
int gcore_parse_retry_after(const char *value, usec_t now_realtime, usec_t *ret);

void api_error_done(struct api_error *e);
const char *api_outcome_to_string(enum api_outcome o);
