/* The endpoints an alert's context comes from: the region directory, a deployment's logs (made
 * up from what the scenario says of each region, plus lines tests add), and capacity. */
#include <ctype.h>
#include <json-c/json.h>

#include "sim.h"

#define LOGS_LIMIT_MAX 1000

void sim_context_done(struct sim_context *x) {
        json_object_put(x->regions);
        json_object_put(x->capacity);
        json_object_put(x->logs);
        *x = (struct sim_context) {};
}

/* A Region as /cloud/v1/regions serves it: what the scenario gives, completed with the other
 * documented keys. */
static struct json_object *region_json(struct json_object *r) {
        struct json_object *o = NULL, *v;
        const char *name = "";

        if (json_object_deep_copy(r, &o, NULL) < 0)
                abort();
        (void) json_get_string(o, "display_name", &name);
        if (!json_object_object_get_ex(o, "slug", &v)) {
                _cleanup_free_ char *slug = xstrdup(name);
                for (char *p = slug; *p; p++)
                        *p = *p == ' ' ? '-' : (char) tolower((unsigned char) *p);
                json_object_object_add(o, "slug", json_object_new_string(slug));
        }
        if (!json_object_object_get_ex(o, "state", &v))
                json_object_object_add(o, "state", json_object_new_string("ACTIVE"));
        if (!json_object_object_get_ex(o, "has_ai", &v))
                json_object_object_add(o, "has_ai", json_object_new_boolean(true));
        if (!json_object_object_get_ex(o, "has_ai_gpu", &v))
                json_object_object_add(o, "has_ai_gpu", json_object_new_boolean(true));
        if (!json_object_object_get_ex(o, "zone", &v))
                json_object_object_add(o, "zone", json_object_new_string("EMEA"));
        return o;
}

int sim_context_set_regions(struct sim_context *x, struct json_object *a, const char **why) {
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *r = json_object_array_get_idx(a, i);
                int64_t id;
                const char *s;
                if (!json_object_is_type(r, json_type_object) || json_get_int64(r, "id", &id) < 0 ||
                    json_get_string(r, "display_name", &s) < 0) {
                        *why = "each region needs an integer id and a display_name";
                        return -EINVAL;
                }
        }
        json_object_get(a); /* before the put: a may be x->regions itself */
        json_object_put(x->regions);
        x->regions = a;
        return 0;
}

int sim_context_set_capacity(struct sim_context *x, struct json_object *a, const char **why) {
        if (a && !json_object_is_type(a, json_type_array)) {
                *why = "capacity must be an array of {region_id, capacity: [{flavor_name, capacity}]}";
                return -EINVAL;
        }
        json_object_get(a); /* before the put: a may be x->capacity itself */
        json_object_put(x->capacity);
        x->capacity = a;
        return 0;
}

static struct json_object *page(struct json_object *results) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "count", json_object_new_int64((int64_t) json_object_array_length(results)));
        json_object_object_add(o, "results", results);
        return o;
}

char *sim_context_regions(const struct sim_context *x, int64_t id, size_t *ret_len) {
        struct json_object *results = json_object_new_array(), *o;
        char *body;

        for (size_t i = 0; x->regions && i < json_object_array_length(x->regions); i++) {
                struct json_object *r = json_object_array_get_idx(x->regions, i);
                int64_t rid = -1;
                (void) json_get_int64(r, "id", &rid);
                if (id < 0 || rid == id)
                        json_object_array_add(results, region_json(r));
        }
        if (id < 0)
                o = page(results);
        else if (json_object_array_length(results) == 0) {
                json_object_put(results);
                return NULL;
        } else {
                o = json_object_get(json_object_array_get_idx(results, 0));
                json_object_put(results);
        }
        body = json_render(o, ret_len);
        json_object_put(o);
        return body;
}

char *sim_context_capacity(const struct sim_context *x, size_t *ret_len) {
        struct json_object *results = NULL, *o;
        char *body;

        if (!x->capacity || json_object_deep_copy(x->capacity, &results, NULL) < 0)
                results = json_object_new_array();
        o = page(results);
        body = json_render(o, ret_len);
        json_object_put(o);
        return body;
}

/* ---- logs ---- */

static char *logs_key(int64_t project_id, const char *name, int64_t region_id) {
        return xasprintf("%lld/%s/%lld", (long long) project_id, name, (long long) region_id);
}

/* Lines a test adds: strings, or {"hex": "1b5b", "repeat": N} for bytes JSON cannot say. */
int sim_context_add_logs(struct sim_context *x, int64_t project_id, const char *name, int64_t region_id,
                         struct json_object *lines, const char **why) {
        _cleanup_free_ char *key = logs_key(project_id, name, region_id);
        struct json_object *list;

        if (!json_object_is_type(lines, json_type_array)) {
                *why = "lines must be an array";
                return -EINVAL;
        }
        if (!x->logs)
                x->logs = json_object_new_object();
        if (!json_object_object_get_ex(x->logs, key, &list)) {
                list = json_object_new_array();
                json_object_object_add(x->logs, key, list);
        }
        for (size_t i = 0; i < json_object_array_length(lines); i++) {
                struct json_object *l = json_object_array_get_idx(lines, i);
                const char *hex = NULL;
                int64_t repeat = 1;
                _cleanup_free_ char *bytes = NULL, *all = NULL;
                size_t n;

                if (json_object_is_type(l, json_type_string)) {
                        json_object_array_add(list, json_object_get(l));
                        continue;
                }
                if (json_get_string(l, "hex", &hex) < 0 || strlen(hex) % 2 != 0 ||
                    json_get_int64(l, "repeat", &repeat) == -EINVAL || repeat < 1 || repeat > (16 << 20)) {
                        *why = "a line is a string or {\"hex\": \"...\", \"repeat\": N}";
                        return -EINVAL;
                }
                n = strlen(hex) / 2;
                bytes = xmalloc(n + 1);
                for (size_t k = 0; k < n; k++)
                        if (sscanf(hex + 2 * k, "%2hhx", (unsigned char *) &bytes[k]) != 1) {
                                *why = "hex: not hexadecimal";
                                return -EINVAL;
                        }
                if (n * (size_t) repeat > (16u << 20)) {
                        *why = "a line of at most 16 MiB";
                        return -EINVAL;
                }
                all = xmalloc(n * (size_t) repeat + 1);
                for (int64_t k = 0; k < repeat; k++)
                        memcpy(all + (size_t) k * n, bytes, n);
                json_object_array_add(list, json_object_new_string_len(all, (int) (n * (size_t) repeat)));
        }
        return 0;
}

static void add_linef(struct json_object *out, const char *fmt, ...) _printf_(2, 3);

static void add_linef(struct json_object *out, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        json_object_array_add(out, json_object_new_string(s));
        free(s);
}

static void log_line(struct json_object *results, const char *name, int64_t region_id, usec_t t,
                     struct json_object *message) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *pod = xasprintf("%s-r%lld-5d8f7c9b6-x2k4p", name, (long long) region_id);
        char buf[32];

        json_object_object_add(o, "message", message);
        json_object_object_add(o, "pod", json_object_new_string(pod));
        json_object_object_add(o, "region_id", json_object_new_int64(region_id));
        json_object_object_add(o, "time", json_object_new_string(format_rfc3339(buf, t)));
        json_object_array_add(results, o);
}

/* What the containers of a region would print, from what the scenario says of it: an image
 * that cannot be pulled or a crash shows its error; a healthy region serves. Oldest first. */
static void scenario_lines(struct json_object *d, int64_t region_id, struct json_object *out) {
        struct json_object *containers, *c, *v;
        const char *image = "", *error = NULL;

        (void) json_get_string(d, "image", &image);
        if (!json_object_object_get_ex(d, "containers", &containers) ||
            !json_object_is_type(containers, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(containers); i++) {
                int64_t id = -1;
                c = json_object_array_get_idx(containers, i);
                (void) json_get_int64(c, "region_id", &id);
                if (id != region_id)
                        continue;
                if (json_object_object_get_ex(c, "error_message", &v) && json_object_is_type(v, json_type_string))
                        error = json_object_get_string(v);
                add_linef(out, "Pulling image \"%s\"", image);
                if (error) {
                        json_object_array_add(out, json_object_new_string(error));
                        add_linef(out, "Back-off: %s", error);
                } else {
                        json_object_array_add(out, json_object_new_string("Application startup complete"));
                        json_object_array_add(out, json_object_new_string("GET /health 200"));
                }
        }
}

/* {count, results}, newest first (order_by=time.desc, the default) or oldest first. NULL when
 * the deployment does not exist. */
char *sim_context_logs(const struct sim_context *x, const char *deployment_json, size_t deployment_len,
                       int64_t project_id, const char *name, int64_t region_id, uint64_t limit, uint64_t offset,
                       bool ascending, size_t *ret_len) {
        struct json_tokener *tok = json_tokener_new();
        /* Parsed by its length: the model's cached JSON is a buffer with a size. */
        _cleanup_json_ struct json_object *d = json_tokener_parse_ex(tok, deployment_json, (int) deployment_len);
        struct json_object *lines = json_object_new_array(), *results = json_object_new_array(), *extra, *o;
        _cleanup_free_ char *key = logs_key(project_id, name, region_id);
        usec_t now = now_usec(CLOCK_REALTIME);
        size_t n, first;
        char *body;

        json_tokener_free(tok);
        scenario_lines(d, region_id, lines);
        if (x->logs && json_object_object_get_ex(x->logs, key, &extra))
                for (size_t i = 0; i < json_object_array_length(extra); i++)
                        json_object_array_add(lines, json_object_get(json_object_array_get_idx(extra, i)));
        n = json_object_array_length(lines);
        first = (size_t) MIN(offset, (uint64_t) n);
        for (size_t i = first; i < n && i - first < MIN(limit, (uint64_t) LOGS_LIMIT_MAX); i++) {
                size_t k = ascending ? i : n - 1 - i; /* line k happened n - 1 - k seconds ago */
                log_line(results, name, region_id, now - (n - 1 - k) * USEC_PER_SEC,
                         json_object_get(json_object_array_get_idx(lines, k)));
        }
        o = json_object_new_object();
        json_object_object_add(o, "count", json_object_new_int64((int64_t) n));
        json_object_object_add(o, "results", results);
        json_object_put(lines);
        body = json_render(o, ret_len);
        json_object_put(o);
        return body;
}
