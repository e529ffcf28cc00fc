/* A client of etcd's v3 API through its JSON gateway (POST /v3/...), on the daemon's libcurl
 * multi handle and event loop, failing over between the cluster's endpoints. Keys and values are
 * base64 in that JSON; 64-bit numbers are strings. */
#pragma once

#include <json-c/json.h>

#include "config.h"
#include "http.h"

struct etcd;
struct etcd_call;

/* r: 0 with the response object (valid during the call only), -EPROTO when etcd refused the
 * request (error says why), -EHOSTUNREACH when no endpoint answered (error: the last failure). */
typedef void (*etcd_done_fn)(int r, struct json_object *resp, const char *error, void *userdata);

int etcd_new(struct http_client *http, const struct cluster *c, struct etcd **ret);
struct etcd *etcd_free(struct etcd *e);

/* POSTs body to /v3/<method> of the current endpoint; on a transport failure or an unavailable
 * member, tries the next ones, each once. timeout 0: the configured one; USEC_INFINITY: none (a
 * campaign waits for as long as another member leads). Takes body. */
int etcd_call(struct etcd *e, const char *method, struct json_object *body, usec_t timeout, etcd_done_fn done,
              void *userdata, struct etcd_call **ret);
/* The same, blocking for at most timeout, trying each endpoint once: for the last words of a
 * member that is stopping (its event loop has ended). Returns 0 on a 200 answer. */
int etcd_call_blocking(struct etcd *e, const char *method, struct json_object *body, usec_t timeout);
/* The callback is not called. NULL-safe. */
void etcd_call_cancel(struct etcd_call *c);
/* The endpoint requests go to now. */
const char *etcd_endpoint(const struct etcd *e);

char *etcd_base64(const char *data, size_t n);
/* NULL when s is not base64. */
char *etcd_unbase64(const char *s, size_t *ret_n);
/* A 64-bit number of the gateway (a string, or absent: 0). */
int64_t etcd_int(struct json_object *o, const char *key);
