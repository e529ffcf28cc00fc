#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

/* What a plain GET sets on its easy handle besides its URL, its headers and its own buffers: a
 * handle that served a GET of the same profile is used again as it is, without curl_easy_reset
 * and the dozen options set again (about 4 k instructions per poll). Anything else (a body, a
 * method) resets the handle. */
struct easy_profile {
        bool get;                 /* no body, no method: the profile may be reused */
        bool https, identity, truncate, ca_file, cert_file, key_file;
        usec_t connect_timeout, timeout;
        uint64_t max_size;
};

struct idle_handle {
        CURL *easy;
        struct easy_profile profile; /* what is set on it (not reset) */
};

struct http_request {
        struct http_client *client;
        struct easy_profile profile;
        struct http_request *prev, *next;
        CURL *easy;
        struct curl_slist *headers;
        struct http_response resp;
        size_t alloc;
        bool mapped;              /* the body is a mapping of alloc bytes (body_grow) */
        uint64_t max_size;
        bool truncate;
        usec_t started;
        bool retried; /* sent again once after a stream its server never answered */
        http_done_fn done;
        void (*destroy)(void *userdata);
        void *userdata;
};

/* Easy handles kept for the next requests: initialising one costs more than resetting it. */
#define IDLE_HANDLES_MAX 32

/* Connections kept open between transfers. curl's default, 4 x the transfers under way, shrinks
 * as a burst of polls completes and closes connections that the next burst opens again (7 new
 * connections per 100 polls at 200 deployments per second). The cache only ever holds what
 * was needed at once (max_in_flight, at most 1024, plus the webhooks); curl closes a
 * connection idle for two minutes (CURLOPT_MAXAGE_CONN). */
#define CONNECTIONS_MAX 1280L

/* A connection's socket, opened and closed by us for curl (CURLOPT_OPENSOCKETFUNCTION,
 * CURLOPT_CLOSESOCKETFUNCTION): its io source outlives the transfers. curl says CURL_POLL_REMOVE
 * whenever a transfer ends and the connection goes back to its cache, and adds the socket again
 * for the next transfer: without this each answer that came after curl stopped looking cost an
 * EPOLL_CTL_DEL and an EPOLL_CTL_ADD. */
struct conn_socket {
        sd_event_source *io;
        bool open;   /* opened by open_socket, not yet closed */
        bool wanted; /* curl watches it (between an add and CURL_POLL_REMOVE) */
};

struct http_client {
        sd_event *event;
        struct conn_socket *sockets; /* indexed by fd */
        size_t n_sockets;
        CURLM *multi;
        sd_event_source *timer;
        sd_event_source *kick; /* curl asked to be called at once: a defer source, no timerfd */
        struct http_request *requests;
        struct idle_handle idle[IDLE_HANDLES_MAX];
        unsigned n_idle;
};

static void body_free(struct http_request *r);

static void request_free(struct http_request *r) {
        struct http_client *c = r->client;

        if (r->easy) {
                (void) curl_multi_remove_handle(c->multi, r->easy);
                if (c->n_idle < IDLE_HANDLES_MAX && r->profile.get) {
                        /* Nothing left pointing at what is freed below. */
                        (void) curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, NULL);
                        (void) curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, NULL);
                        (void) curl_easy_setopt(r->easy, CURLOPT_PRIVATE, NULL);
                        c->idle[c->n_idle++] = (struct idle_handle) { r->easy, r->profile };
                } else if (c->n_idle < IDLE_HANDLES_MAX) {
                        curl_easy_reset(r->easy);
                        c->idle[c->n_idle++] = (struct idle_handle) { r->easy };
                } else
                        curl_easy_cleanup(r->easy);
        }
        if (r->destroy)
                r->destroy(r->userdata);
        /* Headers carry credentials (the API key, a signature): not left in freed memory. */
        for (struct curl_slist *h = r->headers; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data));
        curl_slist_free_all(r->headers);
        body_free(r);
        free(r->resp.retry_after);
        free(r->resp.redirect_origin);
        if (r->prev)
                r->prev->next = r->next;
        else
                r->client->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        free(r);
}

/* Where a redirect points, reduced to its origin: "https://host:port". Redirects are never
 * followed; this only tells the operator what the receiver wants. */
static char *redirect_origin(CURL *easy) {
        char *target = NULL, *scheme = NULL, *host = NULL, *port = NULL, *ret = NULL;
        CURLU *u;

        if (curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &target) != CURLE_OK || !target)
                return NULL;
        u = curl_url();
        if (!u)
                abort();
        if (curl_url_set(u, CURLUPART_URL, target, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
                (void) curl_url_get(u, CURLUPART_PORT, &port, 0);
                ret = xasprintf("%s://%s%s%s", scheme, host, port ? ":" : "", strempty(port));
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return ret;
}

/* An HTTP/2 server that ends a connection sends GOAWAY with the last stream it processes, answers
 * up to it and closes; requests sent meanwhile were not processed and may be sent again (RFC 9113
 * section 8.7). nginx does so after keepalive_requests (1,000 by default) on every connection.
 * curl 7.88 fails such a stream ("HTTP/2 stream N was not closed cleanly before end of the
 * underlying stream", then CURLE_PARTIAL_FILE) instead of retrying it on a new connection as
 * later versions do: a GET over TLS that ended so, or in another HTTP/2 error, without a status
 * line or a byte of body, is started again, once, and curl takes another connection for it (the
 * one that went away is closed). Over HTTP/1.1 a transfer never ends so without a status. */
static bool restart_unanswered(struct http_client *c, struct http_request *r, CURL *easy, CURLcode result) {
        long status = 0;

        if (r->retried || !r->profile.get || !r->profile.https ||
            (result != CURLE_PARTIAL_FILE && result != CURLE_HTTP2_STREAM && result != CURLE_HTTP2))
                return false;
        if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 0 || r->resp.size > 0)
                return false;
        r->retried = true;
        r->resp.error[0] = '\0';
        (void) curl_multi_remove_handle(c->multi, easy);
        return curl_multi_add_handle(c->multi, easy) == CURLM_OK;
}

/* Hands every finished transfer to its owner. Called right after curl did some work, in the same
 * loop iteration: a second iteration per response (a defer source) cost one epoll_wait and
 * its bookkeeping per poll. */
static void take_finished(struct http_client *c) {
        struct http_request *r;
        CURLMsg *msg;
        CURLcode result;
        CURL *easy;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* msg dies with the handle's removal: copy what is needed first. */
                easy = msg->easy_handle;
                result = msg->data.result;
                if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &r) != CURLE_OK || !r)
                        continue;
                if (restart_unanswered(c, r, easy, result))
                        continue;

                if (result == CURLE_WRITE_ERROR && r->truncate && r->resp.too_large)
                        result = CURLE_OK;
                r->resp.result = result;
                (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->resp.status);
                if (r->resp.status >= 300 && r->resp.status < 400)
                        r->resp.redirect_origin = redirect_origin(easy);
                r->resp.elapsed = now_usec(CLOCK_MONOTONIC) - r->started;
                if (!r->resp.body)
                        r->resp.body = xstrdup("");
                if (result != CURLE_OK && !r->resp.error[0])
                        snprintf(r->resp.error, sizeof(r->resp.error), "%s", curl_easy_strerror(result));
                /* The callback may start and cancel requests: curl drops the messages of
                 * handles removed meanwhile, so the next read stays valid. */
                r->done(&r->resp, r->userdata);
                request_free(r);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct http_client *c = userdata;
        int action = 0, running;
        bool idle;

        if (revents & (EPOLLIN | EPOLLPRI))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        idle = (size_t) fd < c->n_sockets && c->sockets[fd].io == s && !c->sockets[fd].wanted;

        (void) curl_multi_socket_action(c->multi, fd, action, &running);
        /* An idle connection that the server closed (or wrote to) would wake us until curl
         * looks at it again (and finds it dead): not watched meanwhile. */
        if (idle && c->sockets[fd].io == s && !c->sockets[fd].wanted)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        take_finished(c);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct http_client *c = userdata;
        int running;

        (void) curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        take_finished(c);
        return 0;
}

static int on_kick(sd_event_source *s, void *userdata) {
        return on_timer(s, 0, userdata);
}

void http_client_flush(struct http_client *c) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(c->kick, &enabled);
        if (enabled == SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_enabled(c->kick, SD_EVENT_OFF);
        (void) on_timer(NULL, 0, c);
}

/* CURLMOPT_SOCKETFUNCTION: keep exactly one io source per socket curl cares about. */
static struct conn_socket *conn_socket(struct http_client *c, curl_socket_t fd) {
        return fd >= 0 && (size_t) fd < c->n_sockets && c->sockets[fd].open ? &c->sockets[fd] : NULL;
}

static curl_socket_t open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *a) {
        struct http_client *c = userdata;
        int fd = socket(a->family, a->socktype, a->protocol);

        if (fd < 0)
                return CURL_SOCKET_BAD;
        if ((size_t) fd >= c->n_sockets) {
                size_t n = MAX((size_t) fd + 1, c->n_sockets * 2);
                c->sockets = xrealloc(c->sockets, n * sizeof(*c->sockets));
                memset(c->sockets + c->n_sockets, 0, (n - c->n_sockets) * sizeof(*c->sockets));
                c->n_sockets = n;
        }
        c->sockets[fd] = (struct conn_socket) { .open = true };
        return fd;
}

/* curl has told CURL_POLL_REMOVE already (Curl_multi_closed comes first): the source goes while
 * the fd is still open, so that epoll forgets it too. */
static int close_socket(void *userdata, curl_socket_t fd) {
        struct http_client *c = userdata;
        struct conn_socket *k = conn_socket(c, fd);

        if (k) {
                k->io = sd_event_source_disable_unref(k->io);
                k->open = k->wanted = false;
        }
        return close(fd);
}

static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        struct http_client *c = userdata;
        struct conn_socket *k = conn_socket(c, fd);
        sd_event_source *io = socketp ?: (k ? k->io : NULL);
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (k)
                        k->wanted = false; /* stays registered: see struct conn_socket */
                else if (io)
                        sd_event_source_disable_unref(io);
                if (io)
                        (void) curl_multi_assign(c->multi, fd, NULL);
                return 0;
        }
        if (k)
                k->wanted = true;
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        /* After the loop finished nothing will run these sources: make or change none. */
        if (sd_event_get_state(c->event) == SD_EVENT_FINISHED)
                return 0;
        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0)
                        return -1;
                if (!socketp && curl_multi_assign(c->multi, fd, io) != CURLM_OK)
                        return -1;
                return sd_event_source_set_enabled(io, SD_EVENT_ON) < 0 ? -1 : 0;
        }
        if (sd_event_add_io(c->event, &io, fd, events, on_io, c) < 0)
                return -1;
        (void) sd_event_source_set_description(io, "curl-io");
        if (curl_multi_assign(c->multi, fd, io) != CURLM_OK) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        if (k)
                k->io = io;
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: only arms the timer; calling curl from here is not allowed. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userdata) {
        struct http_client *c = userdata;

        if (sd_event_get_state(c->event) == SD_EVENT_FINISHED)
                return 0;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        /* "Now" (every new transfer): a defer source runs in the next iteration without arming
         * a timerfd and without an epoll_wait, after every other source pending (the polls due
         * in the same wake-up), so one call starts them all. */
        if (timeout_ms == 0)
                return sd_event_source_set_enabled(c->kick, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
        /* Round up so the timer never fires before curl's deadline. */
        if (sd_event_source_set_time_relative(c->timer, (usec_t) timeout_ms * USEC_PER_MSEC + 999) < 0)
                return -1;
        return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int http_client_new(sd_event *event, struct http_client **ret) {
        struct http_client *c = xcalloc(1, sizeof(*c));
        int r;

        c->event = sd_event_ref(event);
        c->multi = curl_multi_init();
        if (!c->multi) {
                r = -ENOMEM;
                goto fail;
        }
        /* Accuracy 1 µs: the default (250 ms) would delay every transfer's start that much.
         * CLOCK_MONOTONIC, the poll timers' clock: one timerfd for both, and curl's timeouts
         * (seconds away) seldom move its deadline. */
        r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, USEC_INFINITY, 1, on_timer, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(c->timer, "curl-timer");
        r = sd_event_add_defer(event, &c->kick, on_kick, c);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(c->kick, SD_EVENT_OFF);
        (void) sd_event_source_set_priority(c->kick, SD_EVENT_PRIORITY_NORMAL + 1);
        (void) sd_event_source_set_description(c->kick, "curl-kick");

        if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
            curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, CONNECTIONS_MAX) != CURLM_OK) {
                r = -EIO;
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        http_client_free(c);
        return r;
}

struct http_client *http_client_free(struct http_client *c) {
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        while (c->n_idle > 0)
                curl_easy_cleanup(c->idle[--c->n_idle].easy);
        /* curl_multi_cleanup may still call the socket callback with CURL_POLL_REMOVE. */
        if (c->multi)
                curl_multi_cleanup(c->multi);
        /* The cleanup closed every connection through close_socket. */
        free(c->sockets);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->kick);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

/* A body past BODY_MAPPED_MIN is kept in its own mapping, grown by mremap(2), not in the heap:
 * the heap grew by the doubling copies of a list's bodies (ten of 2 MB at once at 100,000
 * deployments), and what they left free between the records allocated meanwhile stayed part of
 * the process's peak. Unmapped when the request is freed. */
#define BODY_MAPPED_MIN ((size_t) 64 * 1024)

static void body_grow(struct http_request *r, size_t size) {
        void *p;

        if (size < BODY_MAPPED_MIN) {
                r->resp.body = xrealloc(r->resp.body, size);
                r->alloc = size;
                return;
        }
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        size = (size + page - 1) / page * page;
        if (r->mapped)
                p = mremap(r->resp.body, r->alloc, size, MREMAP_MAYMOVE);
        else {
                p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p != MAP_FAILED) {
                        memcpy(p, r->resp.body, r->resp.size);
                        free(r->resp.body);
                }
        }
        if (p == MAP_FAILED)
                abort();
        r->resp.body = p;
        r->alloc = size;
        r->mapped = true;
}

static void body_free(struct http_request *r) {
        if (r->mapped)
                (void) munmap(r->resp.body, r->alloc);
        else
                free(r->resp.body);
}

static void append(struct http_request *r, const char *data, size_t n) {
        if (r->resp.size + n + 1 > r->alloc)
                body_grow(r, MAX(MAX(r->alloc * 2, r->resp.size + n + 1), (size_t) 4096));
        memcpy(r->resp.body + r->resp.size, data, n);
        r->resp.size += n;
        r->resp.body[r->resp.size] = '\0';
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct http_request *r = userdata;
        size_t n = size * nmemb;

        /* Debian's curl 7.88 ignores CURLOPT_MAXFILESIZE for bodies without Content-Length. */
        if (r->max_size > 0 && r->resp.size + n > r->max_size) {
                r->resp.too_large = true;
                /* With truncate, what fits is kept and the transfer ends there (the body may
                 * never end); the request still counts as answered (see take_finished). */
                if (r->truncate)
                        append(r, data, r->max_size - MIN(r->resp.size, r->max_size));
                return CURL_WRITEFUNC_ERROR;
        }
        append(r, data, n);
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct http_request *r = userdata;
        size_t n = size * nmemb;
        static const char name[] = "retry-after:";

        if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
                const char *v = data + sizeof(name) - 1;
                size_t l = n - (sizeof(name) - 1);
                while (l > 0 && (*v == ' ' || *v == '\t'))
                        v++, l--;
                while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
                        l--;
                free(r->resp.retry_after);
                r->resp.retry_after = xstrndup(v, MIN(l, (size_t) 128));
        }
        return n;
}

static int add_header(struct http_request *r, const char *h) {
        struct curl_slist *l = curl_slist_append(r->headers, h);

        if (!l)
                return -ENOMEM;
        r->headers = l;
        return 0;
}

static int setup_easy(struct http_request *r, const struct http_request_options *o, bool same_profile) {
        CURL *e = r->easy;
        bool ok = true, own_agent = false;

        for (const char *const *h = o->headers; h && *h; h++) {
                own_agent = own_agent || strncasecmp(*h, "User-Agent:", 11) == 0;
                if (add_header(r, *h) < 0)
                        return -ENOMEM;
        }
        /* User-Agent in our own list (unless a webhook's headers set one): as CURLOPT_USERAGENT
         * curl would printf its line anew for every transfer. */
        if (!own_agent && add_header(r, "User-Agent: " PACKAGE_NAME "/" PACKAGE_VERSION) < 0)
                return -ENOMEM;
        /* Said, not left unsaid: without the header any coding would be acceptable (RFC 9110). */
        if (o->identity && add_header(r, "Accept-Encoding: identity") < 0)
                return -ENOMEM;
#define SET(opt, val) ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK
        SET(CURLOPT_URL, o->url);
        SET(CURLOPT_PRIVATE, r);
        SET(CURLOPT_HTTPHEADER, r->headers);
        SET(CURLOPT_WRITEDATA, r);
        SET(CURLOPT_HEADERDATA, r);
        SET(CURLOPT_ERRORBUFFER, r->resp.error);
        /* Files may have changed: curl reads them when it connects. */
        if (o->ca_file)
                SET(CURLOPT_CAINFO, o->ca_file);
        if (o->cert_file)
                SET(CURLOPT_SSLCERT, o->cert_file);
        if (o->key_file)
                SET(CURLOPT_SSLKEY, o->key_file);
        if (same_profile)
                return ok ? 0 : -EINVAL;
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
        SET(CURLOPT_OPENSOCKETDATA, r->client);
        SET(CURLOPT_CLOSESOCKETFUNCTION, close_socket);
        SET(CURLOPT_CLOSESOCKETDATA, r->client);
        /* Compression pays for lists and logs; for a body of a few kB its header line (printed
         * by curl for every transfer) and the decoder cost more than they save on the wire. */
        if (!o->identity)
                SET(CURLOPT_ACCEPT_ENCODING, "");
        SET(CURLOPT_TCP_KEEPALIVE, 1L);
        /* Waiting to multiplex is only worth it where TLS tells curl at once whether it can
         * (ALPN); on plain HTTP every request would queue behind a slow first answer. */
        if (r->profile.https)
                SET(CURLOPT_PIPEWAIT, 1L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->connect_timeout)
                SET(CURLOPT_CONNECTTIMEOUT_MS, (long) (o->connect_timeout / USEC_PER_MSEC));
        if (o->timeout)
                SET(CURLOPT_TIMEOUT_MS, (long) (o->timeout / USEC_PER_MSEC));
        if (o->max_size && !o->truncate)
                SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) o->max_size);
        if (o->body) {
                SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) o->body_size);
                SET(CURLOPT_COPYPOSTFIELDS, o->body);
        }
        if (o->method)
                SET(CURLOPT_CUSTOMREQUEST, o->method);
#undef SET
        return ok ? 0 : -EINVAL;
}

static struct easy_profile profile_of(const struct http_request_options *o) {
        return (struct easy_profile) {
                .get = !o->body && !o->method,
                .https = strncasecmp(o->url, "https:", 6) == 0,
                .identity = o->identity,
                .truncate = o->truncate,
                .ca_file = o->ca_file,
                .cert_file = o->cert_file,
                .key_file = o->key_file,
                .connect_timeout = o->connect_timeout,
                .timeout = o->timeout,
                .max_size = o->max_size,
        };
}

static bool profile_equal(const struct easy_profile *a, const struct easy_profile *b) {
        return a->get && b->get && a->https == b->https && a->identity == b->identity &&
               a->truncate == b->truncate && a->ca_file == b->ca_file && a->cert_file == b->cert_file &&
               a->key_file == b->key_file && a->connect_timeout == b->connect_timeout &&
               a->timeout == b->timeout && a->max_size == b->max_size;
}

/* An idle handle for a request of profile p: one set up for p already if there is one (true),
 * else another, reset (or a new one). *ret is NULL when none can be made. */
static bool take_idle(struct http_client *c, const struct easy_profile *p, CURL **ret) {
        unsigned i;

        if (c->n_idle == 0) {
                *ret = curl_easy_init();
                return false;
        }
        for (i = c->n_idle; i > 0; i--)
                if (profile_equal(&c->idle[i - 1].profile, p))
                        break;
        bool same = i > 0;
        unsigned k = same ? i - 1 : c->n_idle - 1;
        struct idle_handle h = c->idle[k];

        c->n_idle--;
        c->idle[k] = c->idle[c->n_idle];
        if (!same && h.profile.get)
                curl_easy_reset(h.easy);
        *ret = h.easy;
        return same;
}

int http_request_start(struct http_client *c, const struct http_request_options *o, http_done_fn done,
                       void *userdata, struct http_request **ret) {
        struct http_request *r = xcalloc(1, sizeof(*r));
        bool same;
        int k;

        r->client = c;
        r->done = done;
        r->userdata = userdata;
        r->destroy = o->destroy;
        r->max_size = o->max_size;
        r->truncate = o->truncate;
        r->started = now_usec(CLOCK_MONOTONIC);
        r->next = c->requests;
        if (c->requests)
                c->requests->prev = r;
        c->requests = r;

        r->profile = profile_of(o);
        same = take_idle(c, &r->profile, &r->easy);
        if (!r->easy) {
                request_free(r);
                return -ENOMEM;
        }
        k = setup_easy(r, o, same);
        if (k < 0) {
                r->profile.get = false; /* half set up: reset before it serves again */
                request_free(r);
                return k;
        }
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
                curl_easy_cleanup(TAKE_PTR(r->easy));
                request_free(r);
                return -EIO;
        }
        if (ret)
                *ret = r;
        return 0;
}

void http_request_cancel(struct http_request *r) {
        if (r)
                request_free(r);
}

char *http_response_describe(const struct http_response *resp) {
        if ((resp->too_large && resp->result != CURLE_OK) || resp->result == CURLE_FILESIZE_EXCEEDED)
                return xasprintf("response body larger than the configured limit");
        if (resp->result == CURLE_OPERATION_TIMEDOUT) {
                char b[32];
                return xasprintf("timeout after %s", format_duration(b, resp->elapsed));
        }
        if (resp->result != CURLE_OK)
                return xasprintf("%s", resp->error);
        return xasprintf("HTTP %ld", resp->status);
}
