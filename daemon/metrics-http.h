/* The /metrics endpoint: libmicrohttpd without threads, driven by the daemon's sd-event loop
 * (its epoll descriptor as an io source, its timeout as a timer), on a configured address or
 * on sockets passed by systemd (socket activation). */
#pragma once

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "util.h"

/* Concurrent connections; more are accepted and closed at once. */
#define METRICS_HTTP_CONNECTION_LIMIT 64
/* Connections accepted per loop iteration at most. */
#define METRICS_HTTP_ACCEPT_BATCH 32
/* A connection idle (or a client too slow) this long is closed. */
#define METRICS_HTTP_TIMEOUT_SEC 10
/* Scrapes this close together get the same exposition (one rendering for any number). */
#define METRICS_HTTP_CACHE_USEC (500 * USEC_PER_MSEC)

/* Writes the whole exposition to f. A negative errno gives a 500. */
typedef int (*metrics_render_fn)(FILE *f, void *userdata);

struct metrics_http;

/* "127.0.0.1:9999", "[::1]:9999" (numeric only). -EINVAL when it is not one. */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Serves on a new socket bound to listen (NULL: none) and on every listening stream socket
 * systemd passed (sd_listen_fds; none: none). Returns -ENOENT when there is nothing to serve on,
 * another negative errno when listen cannot be bound (logged). */
int metrics_http_new(sd_event *event, const char *listen, metrics_render_fn render, void *userdata,
                     struct metrics_http **ret);
/* NULL-safe. Closes every connection. */
struct metrics_http *metrics_http_free(struct metrics_http *h);
/* The port of the first listening socket (tests bind port 0). */
unsigned metrics_http_port(const struct metrics_http *h);
