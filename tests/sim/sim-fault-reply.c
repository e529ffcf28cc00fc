#include <sys/socket.h>
#include <time.h>

#include "sim.h"

/* The body is being served byte by byte; parked between bytes so nobody else waits. */
struct drip {
        struct sim *sim;
        struct MHD_Connection *connection;
        char *data;
        size_t size;
        uint64_t bytes_per_second;
        usec_t start;
};

static const char oversize_head[] = "{\"count\":1,\"results\":[{\"padding\":\"";

static const char *exception_for_status(unsigned status) {
        switch (status) {
        case 403:
                return "ForbiddenError";
        case 404:
                return "NotFoundError";
        case 409:
                return "ConflictError";
        case 429:
                return "Throttled";
        default:
                return status >= 500 ? "InternalServerError" : "HTTPError";
        }
}

static enum MHD_Result reply_error_status(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                                          const struct fault *f) {
        struct MHD_Response *resp;
        char *body;
        size_t len;

        if (f->body) {
                body = xstrdup(f->body);
                len = strlen(body);
        } else {
                const char *message = f->status == 429 ? "Request was throttled." : "Simulated failure.";
                body = peer_error_body(exception_for_status(f->status), message, &len);
        }
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO;
        }
        if (f->retry_after)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, f->retry_after);
        return sim_queue(sim, req, c, f->status, resp);
}

/* SO_LINGER 0 turns the close into an RST; libmicrohttpd in TURBO mode does no shutdown()
 * first, so the client sees a reset rather than an orderly end. */
static enum MHD_Result reply_reset(struct sim *sim, struct sim_request *req, struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct linger l = { .l_onoff = 1, .l_linger = 0 };

        if (ci)
                (void) setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        (void) pthread_mutex_lock(&sim->lock);
        counters_status(&sim->counters, 0);
        (void) pthread_mutex_unlock(&sim->lock);
        peer_log(sim->verbose, req->method, req->url, "reset");
        return MHD_NO;
}

static enum MHD_Result reply_hang(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                                  const struct fault *f) {
        if (!park(&sim->park, c, USEC_INFINITY, f->id))
                return MHD_NO;
        req->hung = true;
        peer_log(sim->verbose, req->method, req->url, "hang");
        return MHD_YES;
}

static char *strip_status(const char *body, enum sim_endpoint e, size_t *ret_len) {
        _cleanup_json_ struct json_object *o = json_tokener_parse(body);
        struct json_object *results;

        if (json_object_is_type(o, json_type_object)) {
                json_object_object_del(o, "status");
                if (e == ENDPOINT_LIST && json_object_object_get_ex(o, "results", &results))
                        for (size_t i = 0; i < json_object_array_length(results); i++)
                                json_object_object_del(json_object_array_get_idx(results, i), "status");
        }
        return json_render(o, ret_len);
}

static char *wrong_types(const char *body, enum sim_endpoint e, size_t *ret_len) {
        _cleanup_json_ struct json_object *o = json_tokener_parse(body);

        if (e == ENDPOINT_LIST || !json_object_is_type(o, json_type_object)) {
                static const char list[] = "{\"count\":\"many\",\"results\":{\"name\":7}}";
                *ret_len = strlen(list);
                return xstrdup(list);
        }
        json_object_object_add(o, "status", json_object_new_int64(42));
        json_object_object_add(o, "name", json_object_new_array());
        json_object_object_add(o, "containers", json_object_new_string("none"));
        return json_render(o, ret_len);
}

/* 200 with a body a client must refuse: it replaces the real one. */
static char *bad_body(const struct fault *f, enum sim_endpoint e, const char *body, size_t len, size_t *ret_len) {
        static const char malformed[] = "{\"name\": \"x\", \"status\": \"ACTIVE\", \"containers\": [{]}";

        switch (f->kind) {
        case FAULT_MALFORMED:
                *ret_len = strlen(malformed);
                return xstrdup(malformed);
        case FAULT_TRUNCATED:
                *ret_len = len / 2;
                return xstrndup(body, len / 2);
        default:
                break;
        }
        if (streq(f->variant, "null") || streq(f->variant, "string") || streq(f->variant, "array")) {
                const char *s = streq(f->variant, "null") ? "null" : streq(f->variant, "string") ? "\"ok\"" : "[]";
                *ret_len = strlen(s);
                return xstrdup(s);
        }
        if (streq(f->variant, "no_status"))
                return strip_status(body, e, ret_len);
        return wrong_types(body, e, ret_len);
}

static ssize_t oversize_read(void *cls, uint64_t pos, char *buf, size_t max) {
        uint64_t size = *(uint64_t *) cls;
        size_t n, head = sizeof(oversize_head) - 1;

        if (pos >= size)
                return MHD_CONTENT_READER_END_OF_STREAM;
        n = (size_t) MIN((uint64_t) max, size - pos);
        for (size_t i = 0; i < n; i++)
                buf[i] = pos + i < head ? oversize_head[pos + i] : 'x';
        return (ssize_t) n;
}

/* Without a Content-Length: chunked for HTTP/1.1, until close for HTTP/1.0. */
static enum MHD_Result reply_oversize(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                                      const struct fault *f) {
        uint64_t *size = xmalloc(sizeof(*size));
        struct MHD_Response *resp;

        *size = f->size;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, oversize_read, size, free);
        if (!resp) {
                free(size);
                return MHD_NO;
        }
        return sim_queue(sim, req, c, 200, resp);
}

static ssize_t drip_read(void *cls, uint64_t pos, char *buf, size_t max) {
        struct drip *d = cls;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        uint64_t allowed;
        size_t n;

        if (atomic_load(&d->sim->stopping))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (pos >= d->size)
                return MHD_CONTENT_READER_END_OF_STREAM;
        allowed = (now - d->start) * d->bytes_per_second / USEC_PER_SEC;
        if (allowed <= pos) {
                /* Nothing due yet: park until the next byte is. Returning 0 unparked would spin. */
                usec_t due = d->start + (pos + 1) * USEC_PER_SEC / d->bytes_per_second;

                return park(&d->sim->park, d->connection, due, 0) ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
        }
        n = (size_t) MIN(MIN(allowed - pos, (uint64_t) max), (uint64_t) (d->size - pos));
        memcpy(buf, d->data + pos, n);
        return (ssize_t) n;
}

static void drip_free(void *cls) {
        struct drip *d = cls;

        free(d->data);
        free(d);
}

static enum MHD_Result reply_slow(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                                  const struct fault *f, unsigned status, char *body, size_t len) {
        struct drip *d = xmalloc(sizeof(*d));
        struct MHD_Response *resp;

        *d = (struct drip) {
                .sim = sim,
                .connection = c,
                .data = body,
                .size = len,
                .bytes_per_second = f->bytes_per_second,
                .start = now_usec(CLOCK_MONOTONIC),
        };
        resp = MHD_create_response_from_callback(len, 4096, drip_read, d, drip_free);
        if (!resp) {
                drip_free(d);
                return MHD_NO;
        }
        return sim_queue(sim, req, c, status, resp);
}

enum MHD_Result fault_reply(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                            const struct fault *f, enum sim_endpoint e, unsigned status, char *body, size_t len) {
        _cleanup_free_ char *answer = body;
        size_t bad_len;
        char *bad;

        switch (f->kind) {
        case FAULT_STATUS:
        case FAULT_429:
                return reply_error_status(sim, req, c, f);
        case FAULT_RESET:
                return reply_reset(sim, req, c);
        case FAULT_HANG:
                return reply_hang(sim, req, c, f);
        case FAULT_OVERSIZE:
                return reply_oversize(sim, req, c, f);
        case FAULT_SLOW:
                return reply_slow(sim, req, c, f, status, TAKE_PTR(answer), len);
        default:
                bad = bad_body(f, e, answer, len, &bad_len);
                return sim_reply(sim, req, c, 200, bad, bad_len);
        }
}
