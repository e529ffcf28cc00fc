/* HTTP requests over one libcurl multi handle driven by sd-event (the shape of systemd's
 * curl-util.c): the timer callback only arms a timer, event handlers call socket_action,
 * finished transfers are taken one per loop iteration outside curl's callbacks. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "util.h"

struct http_client;
struct http_request;

struct http_response {
        CURLcode result;          /* CURLE_OK when a complete response arrived */
        long status;              /* HTTP status, 0 when none */
        char *body;               /* always NUL-terminated, possibly empty */
        size_t size;
        char *retry_after;        /* the Retry-After header, verbatim, or NULL */
        char *redirect_origin;    /* a 3xx's Location as "scheme://host[:port]" only (no user,
                                   * path or query: they may hold secrets), or NULL */
        bool too_large;           /* refused (or, with truncate, cut): the body passed max_size */
        char error[CURL_ERROR_SIZE]; /* curl's message when result != CURLE_OK */
        usec_t elapsed;
};

struct http_request_options {
        const char *url;
        const char *method;       /* NULL: GET, or POST when body is set */
        const char *body;         /* copied */
        size_t body_size;
        const char *const *headers; /* NULL-terminated "Name: value" lines, copied */
        const char *ca_file;
        const char *cert_file;    /* a TLS client certificate and its key (PEM files), or NULL */
        const char *key_file;
        usec_t connect_timeout;
        usec_t timeout;
        uint64_t max_size;        /* 0: unlimited */
        bool truncate;            /* a longer body is cut at max_size, not an error */
        bool identity;            /* "Accept-Encoding: identity": the body is small */
        /* Called when the request is freed: after done, on cancel, or when starting fails. */
        void (*destroy)(void *userdata);
};

/* Called once per request, from the event loop. The response is only valid during the call. */
typedef void (*http_done_fn)(const struct http_response *resp, void *userdata);

int http_client_new(sd_event *event, struct http_client **ret);
/* Cancels whatever is in flight without calling the callbacks. NULL-safe. */
struct http_client *http_client_free(struct http_client *c);

/* Lets curl start now the requests added since the loop last ran it (otherwise a defer source
 * does, in the next loop iteration): for a caller that just added several. */
void http_client_flush(struct http_client *c);

/* Starts a request; *ret (optional) can be passed to http_request_cancel until the callback. */
int http_request_start(struct http_client *c, const struct http_request_options *o, http_done_fn done,
                       void *userdata, struct http_request **ret);
/* Aborts a request that has not completed yet; its callback is not called. */
void http_request_cancel(struct http_request *r);

/* One line describing a failed response for logs: "HTTP 503", "timeout after 30s", ... */
char *http_response_describe(const struct http_response *resp);
