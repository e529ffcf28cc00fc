#include <ctype.h>
#include <math.h>
#include <time.h>

#include "sink.h"

#define DELIVERY_BODY_MAX (16u * 1024 * 1024)
#define TIMESTAMP_TOLERANCE (5 * USEC_PER_MINUTE)

enum sink_state {
        STATE_NEW,
        STATE_DELAYED,            /* parked until its delay passed */
        STATE_HUNG,               /* parked until the behaviour that hung it ends */
};

/* The answer a delivery gets, decided when it arrives. */
struct plan {
        unsigned status;
        char *retry_after;
        char *location;
        char *body;
        usec_t delay;
        bool hang;
        uint64_t generation;
};

struct sink_request {
        const char *method;
        const char *url;
        struct peer_body body;
        enum sink_state state;
        struct plan plan;
};

static bool is_control(const char *url) {
        return strncmp(url, "/_sink/", 7) == 0;
}

void behaviour_done(struct behaviour *b) {
        uint64_t generation = b->generation;

        free(b->retry_after);
        free(b->location);
        free(b->body);
        *b = (struct behaviour) { .generation = generation };
}

static void plan_done(struct plan *p) {
        free(p->retry_after);
        free(p->location);
        free(p->body);
        *p = (struct plan) {};
}

static bool behaviour_in_force(const struct behaviour *b, usec_t now) {
        return b->active && b->remaining != 0 && b->expires > now;
}

/* With sink->lock held. */
static struct plan plan_delivery(struct sink *s, usec_t now) {
        struct behaviour *b = &s->behaviour;
        struct plan p = { .status = 200 };

        if (!behaviour_in_force(b, now))
                return p;
        if (b->remaining > 0)
                b->remaining--;
        p = (struct plan) {
                .status = b->status,
                .retry_after = xstrdup(b->retry_after),
                .location = xstrdup(b->location),
                .body = xstrdup(b->body),
                .delay = b->delay,
                .hang = b->hang,
                .generation = b->generation,
        };
        return p;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        struct json_object *headers = cls, *prev;
        char name[256];
        size_t i;

        for (i = 0; key[i] && i < sizeof(name) - 1; i++)
                name[i] = (char) tolower((unsigned char) key[i]);
        name[i] = '\0';
        /* Repeated headers are folded, as RFC 9110 allows for list-valued fields. */
        if (json_object_object_get_ex(headers, name, &prev)) {
                _cleanup_free_ char *joined = xasprintf("%s, %s", json_object_get_string(prev), strempty(value));
                json_object_object_add(headers, name, json_object_new_string(joined));
        } else
                json_object_object_add(headers, name, json_object_new_string(strempty(value)));
        return MHD_YES;
}

static struct json_object *delivery_entry(struct sink *s, struct sink_request *req, struct MHD_Connection *c,
                                          unsigned planned_status) {
        struct json_object *e = json_object_new_object(), *headers = json_object_new_object(), *v;
        usec_t now = now_usec(CLOCK_REALTIME);
        const char *id = NULL, *ts = NULL, *sig = NULL;
        enum signature_verdict verdict;
        int fresh;

        (void) MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, headers);
        if (json_object_object_get_ex(headers, "webhook-id", &v))
                id = json_object_get_string(v);
        if (json_object_object_get_ex(headers, "webhook-timestamp", &v))
                ts = json_object_get_string(v);
        if (json_object_object_get_ex(headers, "webhook-signature", &v))
                sig = json_object_get_string(v);
        verdict = webhook_verify(s->key, s->key_len, id, ts, sig, strempty(req->body.data), req->body.size);

        json_object_object_add(e, "time_us", json_object_new_uint64(now));
        json_object_object_add(e, "method", json_object_new_string(req->method));
        json_object_object_add(e, "path", json_object_new_string(req->url));
        json_object_object_add(e, "headers", headers);
        json_object_object_add(e, "body", json_object_new_string_len(strempty(req->body.data), (int) req->body.size));
        json_object_object_add(e, "signature", json_object_new_string(signature_verdict_to_string(verdict)));
        fresh = ts ? webhook_timestamp_fresh(ts, now, TIMESTAMP_TOLERANCE) : -ENOENT;
        json_object_object_add(e, "timestamp_fresh", fresh >= 0 ? json_object_new_boolean(fresh) : NULL);
        json_object_object_add(e, "status", json_object_new_int64(planned_status));
        return e;
}

static enum MHD_Result reply_plan(struct sink *s, struct sink_request *req, struct MHD_Connection *c) {
        const char *body = req->plan.body ? req->plan.body : "{\"ok\":true}";
        struct MHD_Response *resp;
        enum MHD_Result r;
        char what[16];

        resp = MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (req->plan.retry_after)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, req->plan.retry_after);
        if (req->plan.location)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, req->plan.location);
        snprintf(what, sizeof(what), "%u", req->plan.status);
        peer_log(s->verbose, req->method, req->url, what);
        r = MHD_queue_response(c, req->plan.status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result handle_delivery(struct sink *s, struct sink_request *req, struct MHD_Connection *c) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (req->state != STATE_NEW)
                return reply_plan(s, req, c);
        (void) pthread_mutex_lock(&s->lock);
        req->plan = plan_delivery(s, now);
        deliveries_add(&s->deliveries, delivery_entry(s, req, c, req->plan.status));
        (void) pthread_mutex_unlock(&s->lock);

        if (req->plan.hang) {
                req->state = STATE_HUNG;
                peer_log(s->verbose, req->method, req->url, "hang");
                return park(&s->park, c, USEC_INFINITY, req->plan.generation) ? MHD_YES : MHD_NO;
        }
        if (req->plan.delay > 0) {
                req->state = STATE_DELAYED;
                return park(&s->park, c, now + req->plan.delay, 0) ? MHD_YES : MHD_NO;
        }
        return reply_plan(s, req, c);
}

static int parse_behaviour(struct json_object *o, struct behaviour *b, usec_t now, const char **why) {
        int64_t status = 200;
        double duration, delay = 0;
        const char *retry_after = NULL, *location = NULL, *body = NULL;
        int r;

        static const char *const known[] = { "status", "count", "duration", "retry_after", "location", "delay", "hang",
                                             "body", NULL };

        *b = (struct behaviour) { .active = true, .remaining = -1, .expires = USEC_INFINITY };
        if (!json_object_is_type(o, json_type_object) || json_unknown_key(o, known)) {
                *why = "a behaviour is an object of status, count, duration, retry_after, location, delay, hang, body";
                return -EINVAL;
        }
        if (json_get_int64(o, "status", &status) == -EINVAL || status < 100 || status > 599 ||
            json_get_string(o, "retry_after", &retry_after) == -EINVAL || json_get_string(o, "location", &location) == -EINVAL ||
            json_get_string(o, "body", &body) == -EINVAL ||
            json_get_bool(o, "hang", &b->hang) == -EINVAL) {
                *why = "status must be an HTTP status, retry_after, location and body strings, hang a boolean";
                return -EINVAL;
        }
        if (json_get_double(o, "delay", &delay) == -EINVAL || delay < 0 || delay > 3600) {
                *why = "delay must be a number of seconds in 0..3600";
                return -EINVAL;
        }
        r = json_get_int64(o, "count", &b->remaining);
        if (r == -EINVAL || (r == 0 && b->remaining < 1)) {
                *why = "count must be an integer >= 1";
                return -EINVAL;
        }
        r = json_get_double(o, "duration", &duration);
        if (r == -EINVAL || (r == 0 && (duration <= 0 || duration > 1e7))) {
                *why = "duration must be a number of seconds > 0";
                return -EINVAL;
        }
        if (r == 0)
                b->expires = now + (usec_t) (duration * USEC_PER_SEC);
        b->status = (unsigned) status;
        b->delay = (usec_t) (delay * USEC_PER_SEC);
        b->retry_after = xstrdup(retry_after);
        b->location = xstrdup(location);
        b->body = xstrdup(body);
        return 0;
}

static struct json_object *ok_object(void) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(true));
        return o;
}

/* With sink->lock held; returns the status and sets *ret to the answer. */
static unsigned control_behaviour(struct sink *s, const char *method, struct json_object *body,
                                  struct json_object **ret) {
        struct behaviour b;
        const char *why;

        if (streq(method, "DELETE")) {
                behaviour_done(&s->behaviour);
                s->behaviour.generation++;
                *ret = ok_object();
                return 200;
        }
        if (!streq(method, "POST")) {
                *ret = json_object_new_string("Method Not Allowed");
                return 405;
        }
        if (parse_behaviour(body, &b, now_usec(CLOCK_MONOTONIC), &why) < 0) {
                *ret = json_object_new_string(why);
                return 400;
        }
        b.generation = s->behaviour.generation + 1;
        behaviour_done(&s->behaviour);
        s->behaviour = b;
        *ret = ok_object();
        return 200;
}

static unsigned control(struct sink *s, struct MHD_Connection *c, const char *method, const char *path,
                        struct json_object *body, struct json_object **ret) {
        uint64_t since = 0;

        if (streq(path, "deliveries") && streq(method, "GET")) {
                (void) parse_uint64_strict(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since"), &since);
                *ret = deliveries_since(&s->deliveries, (size_t) since);
                return 200;
        }
        if (streq(path, "reset") && streq(method, "POST")) {
                deliveries_reset(&s->deliveries);
                *ret = ok_object();
                return 200;
        }
        if (streq(path, "behaviour"))
                return control_behaviour(s, method, body, ret);
        *ret = json_object_new_string("unknown control endpoint");
        return 404;
}

static enum MHD_Result handle_control(struct sink *s, struct sink_request *req, struct MHD_Connection *c) {
        _cleanup_json_ struct json_object *body = NULL, *answer = NULL;
        const char *why = NULL;
        unsigned status;

        if (peer_body_json(&req->body, &body, &why) < 0)
                return peer_reply_error(c, 400, "ValidationError", "%s", why);
        (void) pthread_mutex_lock(&s->lock);
        status = control(s, c, req->method, req->url + strlen("/_sink/"), body, &answer);
        (void) pthread_mutex_unlock(&s->lock);
        if (status != 200)
                return peer_reply_error(c, status, status == 400 ? "ValidationError" : "NotFoundError", "%s",
                                        json_object_get_string(answer));
        return peer_reply_json(c, status, TAKE_PTR(answer));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        struct sink *s = cls;
        struct sink_request *req = *con_cls;

        if (!req) {
                req = xcalloc(1, sizeof(*req));
                req->url = url;
                req->method = method;
                *con_cls = req;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                peer_body_feed(&req->body, upload_data, upload_data_size, DELIVERY_BODY_MAX);
                return MHD_YES;
        }
        if (atomic_load(&s->stopping))
                return MHD_NO;
        if (req->body.too_big)
                return peer_reply_error(c, 413, "ValidationError", "body over %u bytes", DELIVERY_BODY_MAX);
        if (is_control(url))
                return handle_control(s, req, c);
        return handle_delivery(s, req, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct sink_request *req = *con_cls;

        if (!req)
                return;
        peer_body_done(&req->body);
        plan_done(&req->plan);
        free(req);
        *con_cls = NULL;
}

int sink_start(struct sink *s, const struct sockaddr_in *addr, unsigned *ret_port) {
        return peer_start(addr, on_request, s, on_completed, s, &s->mhd, ret_port);
}

/* A hang lasts while the behaviour that caused it is the current one and has not expired. */
static bool hang_holds(uint64_t generation, void *userdata) {
        struct sink *s = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        bool holds;

        (void) pthread_mutex_lock(&s->lock);
        holds = s->behaviour.active && s->behaviour.generation == generation && s->behaviour.expires > now;
        (void) pthread_mutex_unlock(&s->lock);
        return holds;
}

void sink_tick(struct sink *s) {
        park_tick(&s->park, now_usec(CLOCK_MONOTONIC), hang_holds, s);
}

void sink_stop(struct sink *s) {
        if (!s->mhd)
                return;
        atomic_store(&s->stopping, true);
        park_close(&s->park);
        MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
}
