#include <time.h>

#include "sim.h"

/* Every handler runs with sim->lock held and returns an answer for control_handle() to send. */
struct reply {
        unsigned status;
        char *body;
        size_t len;
};

static struct reply reply_json(unsigned status, struct json_object *o) {
        struct reply r = { .status = status };

        r.body = json_render(o, &r.len);
        json_object_put(o);
        return r;
}

static struct reply reply_error(unsigned status, const char *message) {
        struct reply r = { .status = status };
        const char *cls = status == 404 ? "NotFoundError" : status == 405 ? "HTTPError" : "ValidationError";

        r.body = peer_error_body(cls, message, &r.len);
        return r;
}

static struct reply reply_ok(void) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(true));
        return reply_json(200, o);
}

static struct reply reply_raw(unsigned status, const char *json, size_t len) {
        return (struct reply) { .status = status, .body = xstrndup(json, len), .len = len };
}

/* "{project}/{name}" after a prefix; the name may not contain '/'. */
static int parse_project_name(const char *p, int64_t *ret_project, const char **ret_name) {
        char *end;
        long long v;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (errno != 0 || *end != '/' || !deployment_name_valid(end + 1))
                return -EINVAL;
        *ret_project = v;
        *ret_name = end + 1;
        return 0;
}

static struct reply deployment_put(struct sim *sim, int64_t project, const char *name, struct json_object *body,
                                   bool replace) {
        const char *why = "invalid";
        const struct sim_deployment *d;
        int r;

        r = model_put(sim->model, project, name, body, replace, sim_clock_now(&sim->clock), &why);
        if (r < 0)
                return reply_error(400, why);
        d = model_get(sim->model, project, name);
        return reply_raw(r > 0 ? 201 : 200, d->json, d->json_len);
}

static struct reply handle_deployments(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                       struct json_object *body) {
        const struct sim_deployment *d;
        struct reply r = { .status = 200 };
        const char *name;
        int64_t project;

        if (*rest == '\0' || streq(rest, "/")) {
                if (!streq(method, "GET"))
                        return reply_error(405, "Method Not Allowed");
                r.body = model_dump(sim->model, &r.len);
                return r;
        }
        if (*rest != '/' || parse_project_name(rest + 1, &project, &name) < 0)
                return reply_error(404, "expected /_sim/deployments/{project_id}/{name}");
        if (streq(method, "GET")) {
                d = model_get(sim->model, project, name);
                return d ? reply_raw(200, d->json, d->json_len) : reply_error(404, "no such deployment");
        }
        if (streq(method, "PUT"))
                return deployment_put(sim, project, name, body, false);
        if (streq(method, "POST"))
                return deployment_put(sim, project, name, body, true);
        if (streq(method, "DELETE")) {
                if (model_delete(sim->model, project, name, sim_clock_now(&sim->clock)) < 0)
                        return reply_error(404, "no such deployment");
                return reply_ok();
        }
        return reply_error(405, "Method Not Allowed");
}

static struct reply handle_projects(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                    struct json_object *body) {
        uint64_t project;

        if (*rest != '/' || parse_uint64_strict(rest + 1, &project) < 0 || project > INT64_MAX)
                return reply_error(404, "expected /_sim/projects/{project_id}");
        if (!streq(method, "PUT"))
                return reply_error(405, "Method Not Allowed");
        model_add_project(sim->model, (int64_t) project);
        return reply_ok();
}

static struct reply clock_json(struct sim *sim) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "t", json_object_new_double(sim_clock_now(&sim->clock)));
        json_object_object_add(o, "paused", json_object_new_boolean(sim->clock.paused));
        return reply_json(200, o);
}

static struct reply handle_clock(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                 struct json_object *body) {
        static const char *const known[] = { "pause", "resume", "advance", NULL };
        bool pause = false, resume = false;
        double advance = 0;

        if (*rest)
                return reply_error(404, "expected /_sim/clock");
        if (streq(method, "GET"))
                return clock_json(sim);
        if (!streq(method, "POST"))
                return reply_error(405, "Method Not Allowed");
        if (json_unknown_key(body, known) || json_get_bool(body, "pause", &pause) == -EINVAL || json_get_bool(body, "resume", &resume) == -EINVAL ||
            json_get_double(body, "advance", &advance) == -EINVAL || advance < 0 || (pause && resume))
                return reply_error(400, "expected {\"pause\": true}, {\"resume\": true} or {\"advance\": seconds >= 0}");
        if (pause)
                sim_clock_pause(&sim->clock);
        if (resume)
                sim_clock_resume(&sim->clock);
        sim_clock_advance(&sim->clock, advance);
        /* Apply what became due now, so the caller observes it as soon as this returns. */
        scenario_tick(sim->scenario, sim->model, sim_clock_now(&sim->clock));
        return clock_json(sim);
}

static uint64_t query_since(struct MHD_Connection *c) {
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
        uint64_t since = 0;

        (void) parse_uint64_strict(v, &since);
        return since;
}

static struct reply handle_faults(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                  struct json_object *body) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        const char *why = "invalid";
        struct json_object *o;
        uint64_t id;

        if (*rest == '/' && parse_uint64_strict(rest + 1, &id) == 0 && streq(method, "DELETE"))
                return faults_remove(&sim->faults, id) < 0 ? reply_error(404, "no such fault") : reply_ok();
        if (*rest != '\0')
                return reply_error(404, "expected /_sim/faults or /_sim/faults/{id}");
        if (streq(method, "GET"))
                return reply_json(200, faults_to_json(&sim->faults, now));
        if (streq(method, "DELETE")) {
                faults_clear(&sim->faults);
                return reply_ok();
        }
        if (!streq(method, "POST"))
                return reply_error(405, "Method Not Allowed");
        if (faults_add(&sim->faults, body, now, &id, &why) < 0)
                return reply_error(400, why);
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_uint64(id));
        return reply_json(201, o);
}

static struct reply handle_counters(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                    struct json_object *body) {
        if (streq(rest, "") && streq(method, "GET"))
                return reply_json(200, counters_to_json(&sim->counters));
        if (streq(rest, "/reset") && streq(method, "POST")) {
                counters_done(&sim->counters);
                counters_init(&sim->counters);
                return reply_ok();
        }
        return reply_error(404, "expected GET /_sim/counters or POST /_sim/counters/reset");
}

/* Tokens replace the configured ones, so tests can revoke or rotate an API key. */
static struct reply handle_tokens(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                  struct json_object *body) {
        struct json_object *a;
        char **tokens = NULL;
        size_t n = 0;

        if (*rest)
                return reply_error(404, "expected /_sim/tokens");
        if (!streq(method, "PUT"))
                return reply_error(405, "Method Not Allowed");
        if (!json_object_object_get_ex(body, "tokens", &a) || !json_object_is_type(a, json_type_array) ||
            json_unknown_key(body, (const char *const[]) { "tokens", NULL }))
                return reply_error(400, "expected {\"tokens\": [...]}");
        for (size_t i = 0; i < json_object_array_length(a); i++)
                if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
                        return reply_error(400, "tokens must be strings");
        for (size_t i = 0; i < json_object_array_length(a); i++)
                *(char **) array_append(&tokens, &n, sizeof(char *)) =
                        xstrdup(json_object_get_string(json_object_array_get_idx(a, i)));
        for (size_t i = 0; i < sim->n_tokens; i++)
                free(sim->tokens[i]);
        free(sim->tokens);
        sim->tokens = tokens;
        sim->n_tokens = n;
        return reply_ok();
}

static struct reply handle_changes(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                   struct json_object *body) {
        if (*rest || !streq(method, "GET"))
                return reply_error(404, "expected GET /_sim/changes");
        return reply_json(200, model_changes_json(sim->model, query_since(c)));
}

/* PUT {"regions": [...]} or {"capacity": [...]} replaces that part of the directory. */
static struct reply handle_context(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                   struct json_object *body) {
        struct json_object *a;
        const char *why = "invalid";

        if (*rest || !streq(method, "PUT"))
                return reply_error(404, "expected PUT /_sim/context");
        if (json_unknown_key(body, (const char *const[]) { "regions", "capacity", NULL }))
                return reply_error(400, "expected {\"regions\": [...]} and/or {\"capacity\": [...]}");
        if (json_object_object_get_ex(body, "regions", &a) &&
            (!json_object_is_type(a, json_type_array) || sim_context_set_regions(&sim->context, a, &why) < 0))
                return reply_error(400, why);
        if (json_object_object_get_ex(body, "capacity", &a) && sim_context_set_capacity(&sim->context, a, &why) < 0)
                return reply_error(400, why);
        return reply_ok();
}

/* POST {"project_id", "name", "region_id", "lines": [...]} adds lines to what the logs
 * endpoint serves for that region (the newest last). */
static struct reply handle_logs(struct sim *sim, struct MHD_Connection *c, const char *method, const char *rest,
                                struct json_object *body) {
        struct json_object *lines;
        const char *name, *why = "invalid";
        int64_t project, region;

        if (*rest || !streq(method, "POST"))
                return reply_error(404, "expected POST /_sim/logs");
        if (json_get_int64(body, "project_id", &project) < 0 || json_get_string(body, "name", &name) < 0 ||
            json_get_int64(body, "region_id", &region) < 0 || !json_object_object_get_ex(body, "lines", &lines) ||
            json_unknown_key(body, (const char *const[]) { "project_id", "name", "region_id", "lines", NULL }))
                return reply_error(400, "expected {\"project_id\", \"name\", \"region_id\", \"lines\": [...]}");
        if (sim_context_add_logs(&sim->context, project, name, region, lines, &why) < 0)
                return reply_error(400, why);
        return reply_ok();
}

typedef struct reply (*control_handler)(struct sim *sim, struct MHD_Connection *c, const char *method,
                                        const char *rest, struct json_object *body);

static struct reply dispatch(struct sim *sim, struct MHD_Connection *c, const char *method, const char *path,
                             struct json_object *body) {
        static const struct {
                const char *prefix;
                control_handler handler;
        } routes[] = {
                { "deployments", handle_deployments },
                { "projects", handle_projects },
                { "clock", handle_clock },
                { "changes", handle_changes },
                { "faults", handle_faults },
                { "counters", handle_counters },
                { "tokens", handle_tokens },
                { "context", handle_context },
                { "logs", handle_logs },
        };

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                size_t n = strlen(routes[i].prefix);
                const char *rest = path + n;

                if (strncmp(path, routes[i].prefix, n) == 0 && (*rest == '\0' || *rest == '/'))
                        return routes[i].handler(sim, c, method, rest, body);
        }
        return reply_error(404, "unknown control endpoint");
}

enum MHD_Result control_handle(struct sim *sim, struct sim_request *req, struct MHD_Connection *c) {
        _cleanup_json_ struct json_object *body = NULL;
        const char *why = NULL;
        struct reply r;

        if (req->body.too_big)
                return sim_reply(sim, req, c, 413, xstrdup("{\"message\":\"body too large\"}"), 28);
        if (peer_body_json(&req->body, &body, &why) < 0) {
                r = reply_error(400, why);
                return sim_reply(sim, req, c, r.status, r.body, r.len);
        }
        (void) pthread_mutex_lock(&sim->lock);
        r = dispatch(sim, c, req->method, req->url[5] == '/' ? req->url + 6 : "", body);
        (void) pthread_mutex_unlock(&sim->lock);
        return sim_reply(sim, req, c, r.status, r.body, r.len);
}
