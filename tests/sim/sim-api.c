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
};

struct answer {
        unsigned status;
        char *body;
        size_t len;
};

/* libmicrohttpd has already percent-decoded the path. Sub-resources (.../logs, .../apikey) and
 * other methods are not simulated: they are ENDPOINT_OTHER and get Gcore's 404 or 405. */
static struct route route_parse(const char *url, const char *method) {
        static const char prefix[] = "/cloud/v3/inference/";
        struct route r = { .endpoint = ENDPOINT_OTHER, .project_id = -1 };
        const char *p = url + strlen(prefix);
        char *end;
        long long project;

        if (strncmp(url, prefix, strlen(prefix)) != 0 || *p < '0' || *p > '9')
                return r;
        errno = 0;
        project = strtoll(p, &end, 10);
        if (errno != 0 || strncmp(end, "/deployments", 12) != 0)
                return r;
        r.project_id = project;
        p = end + 12;
        if (!streq(method, "GET") && !streq(method, "HEAD"))
                return r;
        if (*p == '\0' || streq(p, "/"))
                r.endpoint = ENDPOINT_LIST;
        else if (*p == '/' && !strchr(p + 1, '/')) {
                r.endpoint = ENDPOINT_GET;
                r.name = p + 1;
        }
        return r;
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
        default:
                if (r->project_id >= 0 && !streq(req->method, "GET") && !streq(req->method, "HEAD"))
                        return error_answer(405, "HTTPError", "Method Not Allowed");
                return error_answer(404, "NotFoundError", "The requested URL was not found on the server.");
        }
}

enum MHD_Result api_handle(struct sim *sim, struct sim_request *req, struct MHD_Connection *c) {
        struct route r = route_parse(req->url, req->method);
        struct fault f = {};
        struct answer a;
        enum MHD_Result result;

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
