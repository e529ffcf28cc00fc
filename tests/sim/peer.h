/* Plumbing shared by the two test peers, inferwatch-sim and inferwatch-sink: where to listen,
 * announcing the port, JSON replies, request bodies, and parking connections (suspending them in
 * libmicrohttpd) for hangs and slow answers without blocking anyone else. */
#pragma once

#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include "util.h"

/* ---- peer.c ---- */

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* "127.0.0.1:PORT", ":PORT" or "PORT"; only 127.0.0.1 is accepted, the peers are for tests. */
int peer_parse_listen(const char *s, struct sockaddr_in *ret);

/* A server certificate and its key (PEM, read from --tls-cert and --tls-key). */
struct peer_tls {
        char *cert;
        char *key;
};

/* Reads both files; on failure names the file in *ret_why (static storage). */
int peer_tls_load(const char *cert_file, const char *key_file, struct peer_tls *ret, const char **ret_why);
void peer_tls_done(struct peer_tls *t);

/* Starts an epoll daemon on its own thread with keep-alive and suspend/resume enabled; over
 * HTTPS (libmicrohttpd with GnuTLS) when tls has a certificate. connected, if not NULL, is
 * called with each new connection (before any TLS handshake). */
int peer_start(const struct sockaddr_in *addr, const struct peer_tls *tls, MHD_AccessHandlerCallback handler,
               void *handler_cls, MHD_RequestCompletedCallback completed, void *completed_cls,
               MHD_NotifyConnectionCallback connected, void *connected_cls, struct MHD_Daemon **ret,
               unsigned *ret_port);

/* Writes the port file atomically (only once listening) and prints "listening on ..." on stdout. */
int peer_announce(unsigned port, const char *port_file);

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, so that threads created afterwards
 * (libmicrohttpd's) inherit the mask and the main thread alone receives them with
 * peer_wait_signal(); ignores SIGPIPE. Call before starting any thread. */
void peer_block_signals(void);

/* Waits up to timeout for SIGTERM/SIGINT. Returns the signal number, or 0 on timeout. */
int peer_wait_signal(usec_t timeout);

/* Compact JSON, as served, malloc'ed; "/" is not escaped. */
char *json_render(struct json_object *o, size_t *ret_len);
/* With -v: one line per answered request on stderr. */
void peer_log(bool verbose, const char *method, const char *url, const char *what);

/* Queues body (taken over, freed by libmicrohttpd) as an application/json answer. */
enum MHD_Result peer_reply(struct MHD_Connection *c, unsigned status, char *body, size_t len);
enum MHD_Result peer_reply_json(struct MHD_Connection *c, unsigned status, struct json_object *o);
/* Gcore's error body: {"exception_class", "message", "request_id"}. */
char *peer_error_body(const char *exception_class, const char *message, size_t *ret_len);
enum MHD_Result peer_reply_error(struct MHD_Connection *c, unsigned status, const char *exception_class,
                                 const char *fmt, ...) _printf_(4, 5);

/* A random UUID (RFC 4122 v4), as Gcore's request_id. */
char *peer_uuid(char buf[static 37]);

struct peer_body {
        char *data;               /* NUL-terminated */
        size_t size;
        bool too_big;
};

/* Appends one chunk of upload data, refusing to grow past max (too_big is set instead). */
void peer_body_feed(struct peer_body *b, const char *data, size_t *size, size_t max);
void peer_body_done(struct peer_body *b);
/* Parses a whole JSON document; an empty body is an empty object. */
int peer_body_json(const struct peer_body *b, struct json_object **ret, const char **ret_why);

/* Typed getters for control-request fields: 0 if present and of the right type, -ENOENT if
 * absent, -EINVAL if of another type. */
int json_get_int64(struct json_object *o, const char *key, int64_t *ret);
int json_get_double(struct json_object *o, const char *key, double *ret);
int json_get_bool(struct json_object *o, const char *key, bool *ret);
int json_get_string(struct json_object *o, const char *key, const char **ret);

/* Whether the NULL-terminated v holds s. */
bool strv_contains(const char *const *v, const char *s);
/* The first key of o that is neither in known (NULL-terminated) nor a comment ("_..."), or
 * NULL: control bodies and scenario files refuse typos rather than ignore them. */
const char *json_unknown_key(struct json_object *o, const char *const *known);

/* Parses a non-negative decimal integer ("7"); -EINVAL for anything else. */
int parse_uint64_strict(const char *s, uint64_t *ret);

/* ---- peer-park.c ---- */

/* Connections suspended until a time (slow drips, delays) or until their key is released
 * (hangs). Suspension needs no thread per connection and blocks nobody else. */
struct park_lot {
        pthread_mutex_t lock;
        struct parked *items;
        size_t n_items;
        bool closed;              /* stopping: park nothing more */
};

void park_lot_init(struct park_lot *p);
void park_lot_done(struct park_lot *p);
/* Suspends c until wake_at (CLOCK_MONOTONIC µs; USEC_INFINITY: until its key is released).
 * Only from libmicrohttpd callbacks. Returns false, suspending nothing, once stopping. */
bool park(struct park_lot *p, struct MHD_Connection *c, usec_t wake_at, uint64_t key);
/* Resumes connections whose time came, and keyed ones for which hold(key) is false. hold() is
 * called with the lot locked: it must not park. */
void park_tick(struct park_lot *p, usec_t now, bool (*hold)(uint64_t key, void *userdata), void *userdata);
/* Resumes everything and refuses further parking; before MHD_stop_daemon(), which must not
 * meet a suspended connection. */
void park_close(struct park_lot *p);
