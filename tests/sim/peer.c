#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "peer.h"

int peer_parse_listen(const char *s, struct sockaddr_in *ret) {
        const char *colon = strrchr(s, ':');
        const char *port_s = colon ? colon + 1 : s;
        uint64_t port;

        if (colon && colon != s && strncmp(s, "127.0.0.1", (size_t) (colon - s)) != 0)
                return -EADDRNOTAVAIL;
        if (parse_uint64_strict(port_s, &port) < 0 || port > 65535)
                return -EINVAL;
        *ret = (struct sockaddr_in) {
                .sin_family = AF_INET,
                .sin_port = htons((uint16_t) port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        return 0;
}

int peer_tls_load(const char *cert_file, const char *key_file, struct peer_tls *ret, const char **ret_why) {
        struct peer_tls t = {};
        int r;

        r = read_full_file(cert_file, 1024 * 1024, &t.cert, NULL);
        if (r < 0) {
                *ret_why = cert_file;
                return r;
        }
        r = read_full_file(key_file, 1024 * 1024, &t.key, NULL);
        if (r < 0) {
                free(t.cert);
                *ret_why = key_file;
                return r;
        }
        *ret = t;
        return 0;
}

void peer_tls_done(struct peer_tls *t) {
        if (t->key)
                explicit_bzero(t->key, strlen(t->key));
        free(t->key);
        free(t->cert);
        *t = (struct peer_tls) {};
}

int peer_start(const struct sockaddr_in *addr, const struct peer_tls *tls, MHD_AccessHandlerCallback handler,
               void *handler_cls, MHD_RequestCompletedCallback completed, void *completed_cls,
               MHD_NotifyConnectionCallback connected, void *connected_cls, struct MHD_Daemon **ret,
               unsigned *ret_port) {
        bool https = tls && tls->cert;
        struct MHD_OptionItem extra[4] = {}, *o = extra;
        const union MHD_DaemonInfo *info;
        struct MHD_Daemon *d;

        if (https) {
                if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
                        return -EPROTONOSUPPORT;
                *o++ = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, tls->cert };
                *o++ = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, tls->key };
        }
        if (connected)
                *o++ = (struct MHD_OptionItem) { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) connected, connected_cls };
        *o = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };

        /* One epoll thread serves every connection; hangs and drips suspend theirs instead of
         * blocking it. Address reuse lets a test restart a peer on the port it had. TURBO skips
         * the shutdown(SHUT_WR) before close, so an abort with SO_LINGER 0 is a bare RST. */
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                                     MHD_USE_TURBO | (https ? MHD_USE_TLS : 0),
                             0, NULL, NULL, handler, handler_cls,
                             MHD_OPTION_SOCK_ADDR, (const struct sockaddr *) addr,
                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned) 1,
                             MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned) 4096,
                             MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned) 1024,
                             MHD_OPTION_ARRAY, extra,
                             MHD_OPTION_END);
        if (!d)
                return -EADDRINUSE;
        info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0) {
                MHD_stop_daemon(d);
                return -EIO;
        }
        *ret_port = info->port;
        *ret = d;
        return 0;
}

int peer_announce(unsigned port, const char *port_file) {
        char buf[16];
        int n, r;

        n = snprintf(buf, sizeof(buf), "%u\n", port);
        if (port_file) {
                r = write_file_atomic(port_file, buf, (size_t) n, 0644);
                if (r < 0)
                        return r;
        }
        printf("listening on 127.0.0.1:%u\n", port);
        (void) fflush(stdout);
        return 0;
}

static void termination_set(sigset_t *set) {
        sigemptyset(set);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGHUP);
}

void peer_block_signals(void) {
        sigset_t set;

        termination_set(&set);
        (void) pthread_sigmask(SIG_BLOCK, &set, NULL);
        (void) signal(SIGPIPE, SIG_IGN);
}

int peer_wait_signal(usec_t timeout) {
        struct timespec ts = {
                .tv_sec = (time_t) (timeout / USEC_PER_SEC),
                .tv_nsec = (long) (timeout % USEC_PER_SEC * 1000),
        };
        sigset_t set;
        int sig;

        termination_set(&set);
        sig = sigtimedwait(&set, NULL, &ts);
        /* SIGHUP means nothing to a test peer; swallow it rather than die. */
        if (sig < 0 || sig == SIGHUP)
                return 0;
        return sig;
}

enum MHD_Result peer_reply(struct MHD_Connection *c, unsigned status, char *body, size_t len) {
        struct MHD_Response *resp;
        enum MHD_Result r;

        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

char *json_render(struct json_object *o, size_t *ret_len) {
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                          ret_len);

        return xstrndup(s, *ret_len);
}

void peer_log(bool verbose, const char *method, const char *url, const char *what) {
        char ts[32];

        if (verbose)
                fprintf(stderr, "%s %s %s -> %s\n", format_rfc3339(ts, now_usec(CLOCK_REALTIME)), method, url, what);
}

enum MHD_Result peer_reply_json(struct MHD_Connection *c, unsigned status, struct json_object *o) {
        size_t len;
        char *body = json_render(o, &len);

        json_object_put(o);
        return peer_reply(c, status, body, len);
}

char *peer_error_body(const char *exception_class, const char *message, size_t *ret_len) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        char id[37];

        json_object_object_add(o, "exception_class", json_object_new_string(exception_class));
        json_object_object_add(o, "message", json_object_new_string(message));
        json_object_object_add(o, "request_id", json_object_new_string(peer_uuid(id)));
        return json_render(o, ret_len);
}

enum MHD_Result peer_reply_error(struct MHD_Connection *c, unsigned status, const char *exception_class,
                                 const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        size_t len;
        char *body;

        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                abort();
        va_end(ap);
        body = peer_error_body(exception_class, message, &len);
        return peer_reply(c, status, body, len);
}

char *peer_uuid(char buf[static 37]) {
        sd_id128_t id;

        if (sd_id128_randomize(&id) < 0)
                abort();
        return sd_id128_to_uuid_string(id, buf);
}

void peer_body_feed(struct peer_body *b, const char *data, size_t *size, size_t max) {
        if (b->too_big || b->size + *size > max) {
                b->too_big = true;
                *size = 0;
                return;
        }
        b->data = xrealloc(b->data, b->size + *size + 1);
        memcpy(b->data + b->size, data, *size);
        b->size += *size;
        b->data[b->size] = '\0';
        *size = 0;
}

void peer_body_done(struct peer_body *b) {
        free(b->data);
        b->data = NULL;
        b->size = 0;
}

int peer_body_json(const struct peer_body *b, struct json_object **ret, const char **ret_why) {
        struct json_tokener *tok;
        struct json_object *o;
        size_t end;

        if (b->size == 0 || strspn(b->data, " \t\r\n") == b->size) {
                *ret = json_object_new_object();
                return 0;
        }
        tok = json_tokener_new();
        o = json_tokener_parse_ex(tok, b->data, (int) b->size + 1);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!o) {
                *ret_why = "request body is not valid JSON";
                return -EBADMSG;
        }
        if (end < b->size && strspn(b->data + end, " \t\r\n") != b->size - end) {
                json_object_put(o);
                *ret_why = "trailing data after the JSON document";
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

static int json_get_typed(struct json_object *o, const char *key, json_type type, struct json_object **ret) {
        struct json_object *v;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return -ENOENT;
        if (!json_object_is_type(v, type))
                return -EINVAL;
        *ret = v;
        return 0;
}

int json_get_int64(struct json_object *o, const char *key, int64_t *ret) {
        struct json_object *v;
        int r = json_get_typed(o, key, json_type_int, &v);

        if (r < 0)
                return r;
        *ret = json_object_get_int64(v);
        return 0;
}

int json_get_double(struct json_object *o, const char *key, double *ret) {
        struct json_object *v;
        double d;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return -ENOENT;
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return -EINVAL;
        d = json_object_get_double(v);
        if (!isfinite(d))
                return -EINVAL;
        *ret = d;
        return 0;
}

int json_get_bool(struct json_object *o, const char *key, bool *ret) {
        struct json_object *v;
        int r = json_get_typed(o, key, json_type_boolean, &v);

        if (r < 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 0;
}

int json_get_string(struct json_object *o, const char *key, const char **ret) {
        struct json_object *v;
        int r = json_get_typed(o, key, json_type_string, &v);

        if (r < 0)
                return r;
        *ret = json_object_get_string(v);
        return 0;
}

bool strv_contains(const char *const *v, const char *s) {
        for (; *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

const char *json_unknown_key(struct json_object *o, const char *const *known) {
        json_object_object_foreach(o, k, v) {
                (void) v;
                if (k[0] != '_' && !strv_contains(known, k))
                        return k;
        }
        return NULL;
}

int parse_uint64_strict(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}
