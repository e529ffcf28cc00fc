#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "sim.h"

#define LIMIT_DEFAULT 100
#define LIMIT_MAX 1000

struct route {
        enum sim_endpoint endpoint;
        int64_t project_id;
        const char *name;
        int64_t region_id;        /* /cloud/v1/regions/{id}; -1: the list */
        char buf[256];            /* the name of a logs request */
};

struct answer {
        unsigned status;
        char *body;
        size_t len;
};

/* The regions and capacity endpoints, outside the project paths. */
static bool route_global(const char *url, struct route *r) {
        static const char regions[] = "/cloud/v1/regions";
        uint64_t id;

        if (streq(url, "/cloud/v3/inference/capacity") || streq(url, "/cloud/v3/inference/capacity/")) {
                r->endpoint = ENDPOINT_CAPACITY;
                return true;
        }
        if (strncmp(url, regions, strlen(regions)) != 0)
                return false;
        url += strlen(regions);
        if (*url == '\0' || streq(url, "/"))
                r->endpoint = ENDPOINT_REGIONS;
        else if (*url == '/' && parse_uint64_strict(url + 1, &id) == 0 && id <= INT64_MAX) {
                r->endpoint = ENDPOINT_REGIONS;
                r->region_id = (int64_t) id;
        }
        return true;
}

/* libmicrohttpd has already percent-decoded the path. Sub-resources other than .../logs
 * (.../apikey) and other methods are not simulated: they are ENDPOINT_OTHER and get Gcore's 404
 * or 405. */
static void route_parse(const char *url, const char *method, struct route *r) {
        static const char prefix[] = "/cloud/v3/inference/";
        const char *p = url + strlen(prefix), *slash;
        char *end;
        long long project;

        if ((streq(method, "GET") || streq(method, "HEAD")) && route_global(url, r))
                return;
        if (strncmp(url, prefix, strlen(prefix)) != 0 || *p < '0' || *p > '9')
                return;
        errno = 0;
        project = strtoll(p, &end, 10);
        if (errno != 0 || strncmp(end, "/deployments", 12) != 0)
                return;
        r->project_id = project;
        p = end + 12;
        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return;
        if (*p == '\0' || streq(p, "/"))
                r->endpoint = ENDPOINT_LIST;
        else if (*p == '/' && !strchr(p + 1, '/')) {
                r->endpoint = ENDPOINT_GET;
                r->name = p + 1;
        } else if (*p == '/' && (slash = strchr(p + 1, '/')) && streq(slash, "/logs") &&
                   (size_t) (slash - p - 1) < sizeof(r->buf)) {
                r->endpoint = ENDPOINT_LOGS;
                memcpy(r->buf, p + 1, (size_t) (slash - p - 1));
                r->buf[slash - p - 1] = '\0';
                r->name = r->buf;
        }
        return;
}

static struct answer error_answer(unsigned status, const char *exception_class, const char *fmt, ...)
        _printf_(3, 4);

static struct answer error_answer(unsigned status, const char *exception_class, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        struct answer a = { .status = status };
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                abort();
        va_end(ap);
        a.body = peer_error_body(exception_class, message, &a.len);
        return a;
}

/* Like Django REST framework behind Gcore: no APIKey scheme means no credentials at all. The
 * scheme word is matched case-insensitively, as the API reference's "apikey 1234$abcdef". */
static bool authenticate(struct sim *sim, struct MHD_Connection *c, struct answer *ret) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

        if (sim->n_tokens == 0)
                return true;
        if (!h || strncasecmp(h, "APIKey ", 7) != 0) {
                *ret = error_answer(401, "NotAuthenticated", "Authentication credentials were not provided.");
                return false;
        }
        for (size_t i = 0; i < sim->n_tokens; i++)
                if (streq(h + 7, sim->tokens[i]))
                        return true;
        *ret = error_answer(401, "NotAuthenticated", "Bad permanent token: %.5s", h + 7);
        return false;
}

/* Absent: def. Present: a decimal integer >= 0, or the request is a 400 like Gcore's. */
static int query_uint(struct MHD_Connection *c, const char *key, uint64_t def, uint64_t *ret) {
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

        if (!v) {
                *ret = def;
                return 0;
        }
        return parse_uint64_strict(v, ret);
}

static struct answer answer_list(struct sim *sim, struct MHD_Connection *c, int64_t project_id) {
        struct answer a = { .status = 200 };
        uint64_t limit, offset;

        if (query_uint(c, "limit", LIMIT_DEFAULT, &limit) < 0)
                return error_answer(400, "ValidationError", "limit: A valid integer >= 0 is required.");
        if (query_uint(c, "offset", 0, &offset) < 0)
                return error_answer(400, "ValidationError", "offset: A valid integer >= 0 is required.");
        if (model_page(sim->model, project_id, MIN(limit, (uint64_t) LIMIT_MAX), offset, &a.body, &a.len) < 0)
                return error_answer(404, "NotFoundError", "Project %lld could not be found", (long long) project_id);
        return a;
}

static struct answer answer_get(struct sim *sim, int64_t project_id, const char *name) {
        const struct sim_deployment *d = model_get(sim->model, project_id, name);

        if (!d)
                return error_answer(404, "NotFoundError", "Inference instance %s could not be found", name);
        return (struct answer) { .status = 200, .body = xstrndup(d->json, d->json_len), .len = d->json_len };
}

static struct answer answer_regions(struct sim *sim, int64_t id) {
        struct answer a = { .status = 200 };

        a.body = sim_context_regions(&sim->context, id, &a.len);
        if (!a.body)
                return error_answer(404, "NotFoundError", "Region %lld could not be found", (long long) id);
        return a;
}

/* count: false for a request a hang fault held, counted when it came. */
static struct answer answer_logs(struct sim *sim, struct MHD_Connection *c, int64_t project_id, const char *name,
                                 bool count) {
        const struct sim_deployment *d = model_get(sim->model, project_id, name);
        const char *order = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "order_by");
        struct answer a = { .status = 200 };
        uint64_t limit, offset, region;

        if (query_uint(c, "limit", LIMIT_MAX, &limit) < 0)
                return error_answer(400, "ValidationError", "limit: A valid integer >= 0 is required.");
        if (query_uint(c, "offset", 0, &offset) < 0)
                return error_answer(400, "ValidationError", "offset: A valid integer >= 0 is required.");
        if (query_uint(c, "region_id", UINT64_MAX, &region) < 0 || region > INT64_MAX)
                return error_answer(400, "ValidationError", "region_id: A valid integer is required.");
        if (order && !streq(order, "time.asc") && !streq(order, "time.desc"))
                return error_answer(400, "ValidationError", "order_by: must be time.asc or time.desc.");
        if (!d)
                return error_answer(404, "NotFoundError", "Inference instance %s could not be found", name);
        if (count)
                counters_logs(&sim->counters, project_id, name, (int64_t) region);
        a.body = sim_context_logs(&sim->context, d->json, d->json_len, project_id, name, (int64_t) region, limit,
                                  offset, streq_ptr(order, "time.asc"), &a.len);
        return a;
}

/* What the API answers, faults aside. Called with sim->lock held. */
static struct answer answer_request(struct sim *sim, struct sim_request *req, struct MHD_Connection *c,
                                    const struct route *r) {
        struct answer a;

        if (!authenticate(sim, c, &a))
                return a;
        switch (r->endpoint) {
        case ENDPOINT_GET:
                return answer_get(sim, r->project_id, r->name);
        case ENDPOINT_LIST:
                return answer_list(sim, c, r->project_id);
        case ENDPOINT_REGIONS:
                return answer_regions(sim, r->region_id);
        case ENDPOINT_LOGS:
                return answer_logs(sim, c, r->project_id, r->name, !req->hung);
        case ENDPOINT_CAPACITY:
                a = (struct answer) { .status = 200 };
                a.body = sim_context_capacity(&sim->context, &a.len);
                return a;
        default:
                if (r->project_id >= 0 && !streq(req->method, "GET") && !streq(req->method, "HEAD"))
                        return error_answer(405, "HTTPError", "Method Not Allowed");
                return error_answer(404, "NotFoundError", "The requested URL was not found on the server.");
        }
}

enum MHD_Result api_handle(struct sim *sim, struct sim_request *req, struct MHD_Connection *c) {
        struct route r = { .endpoint = ENDPOINT_OTHER, .project_id = -1, .region_id = -1 };
        struct fault f = {};
        struct answer a;
        enum MHD_Result result;

        /* Filled in place: a logs request's name points into r.buf. */
        route_parse(req->url, req->method, &r);
        (void) pthread_mutex_lock(&sim->lock);
        /* A request a hang fault held is answered as if nothing happened, and was counted. */
        if (!req->hung) {
                counters_request(&sim->counters, r.endpoint, r.project_id, r.name);
                (void) faults_take(&sim->faults, r.endpoint, r.project_id, r.name, now_usec(CLOCK_MONOTONIC), &f);
        }
        a = answer_request(sim, req, c, &r);
        (void) pthread_mutex_unlock(&sim->lock);

        if (f.id == 0)
                return sim_reply(sim, req, c, a.status, a.body, a.len);
        result = fault_reply(sim, req, c, &f, r.endpoint, a.status, a.body, a.len);
        fault_done(&f);
        return result;
}
