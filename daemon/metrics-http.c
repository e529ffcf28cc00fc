#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio_ext.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "metrics-http.h"
#include "metrics.h"

struct listener {
        int fd;
        sd_event_source *source;
};

struct metrics_http {
        sd_event *event;
        metrics_render_fn render;
        void *userdata;
        struct MHD_Daemon *mhd;   /* without a listening socket of its own */
        sd_event_source *io;      /* its epoll fd */
        sd_event_source *timer;   /* its timeout */
        struct listener *listeners;
        size_t n_listeners;
        /* The last exposition, answered again to scrapes within METRICS_HTTP_CACHE_USEC: any
         * number of scrapers then cost one rendering (and one copy in memory) at a time. */
        struct MHD_Response *cached;
        usec_t cached_at;         /* CLOCK_MONOTONIC */
};

int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct addrinfo hints = {
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
                .ai_socktype = SOCK_STREAM,
        };
        _cleanup_free_ char *host = NULL;
        struct addrinfo *ai = NULL;
        const char *colon = strrchr(s, ':');
        char *end;

        if (!colon || colon == s || colon[1] == '\0' || strtoul(colon + 1, &end, 10) > 65535 || *end)
                return -EINVAL;
        if (s[0] == '[') {
                if (colon[-1] != ']')
                        return -EINVAL;
                host = xstrndup(s + 1, (size_t) (colon - s - 2));
        } else
                host = xstrndup(s, (size_t) (colon - s));
        if (s[0] != '[' && strchr(host, ':'))
                return -EINVAL; /* an IPv6 address goes in brackets */
        if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

static int bind_listen(const char *listen_address) {
        struct sockaddr_storage sa;
        socklen_t len;
        int fd, r;

        r = metrics_parse_listen(listen_address, &sa, &len);
        if (r < 0)
                return r;
        fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int));
        if (bind(fd, (struct sockaddr *) &sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static struct MHD_Response *text_response(const char *text) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                                                    MHD_RESPMEM_PERSISTENT);
        if (resp)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        return resp;
}

static struct MHD_Response *render_response(struct metrics_http *h, unsigned *status) {
        struct MHD_Response *resp;
        char *body = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&body, &size);
        int r;

        if (!f)
                abort();
        (void) __fsetlocking(f, FSETLOCKING_BYCALLER); /* one thread: no lock per character */
        r = h->render(f, h->userdata);
        if (fclose(f) != 0)
                abort();
        if (r < 0) {
                free(body);
                log_warning_errno(r, "Failed to gather the metrics: %m");
                *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                return text_response("Cannot gather the metrics, see the daemon's log.\n");
        }
        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return NULL;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_CONTENT_TYPE);
        *status = MHD_HTTP_OK;
        return resp;
}

/* A reference to the cached exposition, rendered again when it is too old. */
static struct MHD_Response *metrics_response(struct metrics_http *h, unsigned *status) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        struct MHD_Response *resp;

        if (h->cached && now < h->cached_at + METRICS_HTTP_CACHE_USEC) {
                *status = MHD_HTTP_OK;
                return h->cached;
        }
        resp = render_response(h, status);
        if (!resp || *status != MHD_HTTP_OK)
                return resp;
        if (h->cached)
                MHD_destroy_response(h->cached);
        h->cached = resp;
        h->cached_at = now;
        return resp;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        struct metrics_http *h = cls;
        struct MHD_Response *resp;
        unsigned status;
        enum MHD_Result ret;

        /* Answer only once the whole request is in; a body is read and ignored. */
        if (!*req_cls) {
                *req_cls = h;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD)) {
                status = MHD_HTTP_METHOD_NOT_ALLOWED;
                resp = text_response("Only GET and HEAD are served.\n");
                if (resp)
                        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        } else if (streq(url, "/metrics"))
                resp = metrics_response(h, &status);
        else if (streq(url, "/")) {
                status = MHD_HTTP_OK;
                resp = text_response("inferwatchd: the metrics are at /metrics\n");
        } else {
                status = MHD_HTTP_NOT_FOUND;
                resp = text_response("Not found: the metrics are at /metrics\n");
        }
        if (!resp)
                return MHD_NO;
        ret = MHD_queue_response(c, status, resp);
        if (resp != h->cached)
                MHD_destroy_response(resp);
        return ret;
}

static void server_arm(struct metrics_http *h) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(h->timer, ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static void server_run(struct metrics_http *h) {
        (void) MHD_run(h->mhd);
        server_arm(h);
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        server_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        server_run(userdata);
        return 0;
}

/* The daemon accepts, not libmicrohttpd: a level-triggered source drains the backlog however
 * many connections wait (clients that gave up included), a bounded number per iteration so
 * that polling goes on, and a connection beyond the limit is closed at once (MHD_add_connection
 * refuses it) instead of waiting in the backlog. */
static int on_listen(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct metrics_http *h = userdata;

        for (unsigned i = 0; i < METRICS_HTTP_ACCEPT_BATCH; i++) {
                struct sockaddr_storage sa;
                socklen_t len = sizeof(sa);
                int c = accept4(fd, (struct sockaddr *) &sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0)
                        break; /* EAGAIN, or the client went away: the source says when to try again */
                (void) MHD_add_connection(h->mhd, c, (struct sockaddr *) &sa, len);
        }
        server_run(h);
        return 0;
}

static int listen_on(struct metrics_http *h, int fd) {
        struct listener *l = array_append(&h->listeners, &h->n_listeners, sizeof(*h->listeners));
        int flags = fcntl(fd, F_GETFL);

        l->fd = fd;
        /* systemd passes blocking sockets unless NonBlocking=yes; accept must never block. */
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return sd_event_add_io(h->event, &l->source, fd, EPOLLIN, on_listen, h);
}

static int server_start(struct metrics_http *h) {
        const union MHD_DaemonInfo *info;
        int r;

        h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_TURBO | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request,
                                  h, MHD_OPTION_CONNECTION_LIMIT, (unsigned) METRICS_HTTP_CONNECTION_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) METRICS_HTTP_TIMEOUT_SEC,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 16384, MHD_OPTION_END);
        if (!h->mhd)
                return -EIO;
        info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;
        r = sd_event_add_io(h->event, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
        if (r < 0)
                return r;
        return sd_event_add_time_relative(h->event, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h);
}

/* Sockets passed by systemd: those that are listening stream sockets. */
static int start_passed(struct metrics_http *h) {
        int n = sd_listen_fds(true), r;

        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + MAX(n, 0); fd++) {
                if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                        log_warning("Ignoring file descriptor %d passed by systemd: not a listening stream socket", fd);
                        continue;
                }
                r = listen_on(h, fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

int metrics_http_new(sd_event *event, const char *listen_address, metrics_render_fn render, void *userdata,
                     struct metrics_http **ret) {
        struct metrics_http *h = xcalloc(1, sizeof(*h));
        int r;

        h->event = sd_event_ref(event);
        h->render = render;
        h->userdata = userdata;
        r = start_passed(h);
        if (r >= 0 && listen_address) {
                int fd = bind_listen(listen_address);
                if (fd < 0)
                        log_error_errno(fd, "Failed to listen on %s for /metrics: %m", listen_address);
                r = fd < 0 ? fd : listen_on(h, fd);
        }
        if (r >= 0 && h->n_listeners == 0)
                r = -ENOENT;
        if (r >= 0)
                r = server_start(h);
        if (r < 0) {
                metrics_http_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

struct metrics_http *metrics_http_free(struct metrics_http *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_listeners; i++) {
                sd_event_source_disable_unref(h->listeners[i].source);
                close(h->listeners[i].fd);
        }
        free(h->listeners);
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        if (h->cached)
                MHD_destroy_response(h->cached);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

unsigned metrics_http_port(const struct metrics_http *h) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);

        if (h->n_listeners == 0 || getsockname(h->listeners[0].fd, (struct sockaddr *) &sa, &len) < 0)
                return 0;
        if (sa.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *) &sa)->sin_port);
        if (sa.ss_family == AF_INET6)
                return ntohs(((struct sockaddr_in6 *) &sa)->sin6_port);
        return 0;
}
