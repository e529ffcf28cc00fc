#include <time.h>

#include "sim.h"

#define T(t) (1u << (json_type_##t))

struct field_rule {
        const char *key;
        unsigned types;
};

/* Keys a scenario or a test may set, with the JSON types each accepts. Nested objects (logging,
 * probes, scale, ...) are merged as given, unchecked: tests may serve odd shapes on purpose. */
static const struct field_rule deployment_rules[] = {
        { "status", T(string) },
        { "address", T(string) | T(null) },
        { "auth_enabled", T(boolean) },
        { "api_keys", T(array) | T(null) },
        /* The schema says string|null, the docs' example an array: serve either. */
        { "command", T(string) | T(array) | T(null) },
        { "created_at", T(string) | T(null) },
        { "credentials_name", T(string) },
        { "description", T(string) },
        { "envs", T(object) | T(null) },
        { "flavor_name", T(string) },
        { "image", T(string) },
        { "ingress_opts", T(object) | T(null) },
        { "listening_port", T(int) },
        { "logging", T(object) | T(null) },
        { "object_references", T(array) },
        { "probes", T(object) | T(null) },
        { "timeout", T(int) | T(null) },
};

static const struct field_rule container_rules[] = {
        { "address", T(string) | T(null) },
        { "error_message", T(string) | T(null) },
        { "scale", T(object) },
        { "deploy_status", T(object) },
};

/* What a container created by fields gets unless it says otherwise. */
struct container_defaults {
        int64_t ready;
        int64_t total;
};

static const struct field_rule *rule_find(const struct field_rule *rules, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (streq(rules[i].key, key))
                        return &rules[i];
        return NULL;
}

static bool rule_accepts(const struct field_rule *r, struct json_object *v) {
        return r->types & (1u << json_object_get_type(v));
}

/* PENDING is scaled to zero and DISABLED stopped: no instances. Others run at least one. */
static struct container_defaults defaults_for_status(const char *status, int64_t ready, bool has_ready,
                                                     int64_t total, bool has_total) {
        bool stopped = streq(status, "PENDING") || streq(status, "DISABLED");
        struct container_defaults cd;

        cd.total = has_total ? total : MAX(has_ready ? ready : 0, stopped ? 0 : 1);
        cd.ready = has_ready ? ready : streq(status, "ACTIVE") ? cd.total : 0;
        return cd;
}

/* Stable per (project, name), like the random suffix Gcore puts in instance hostnames. */
static char *default_address(int64_t project_id, const char *name) {
        uint64_t h = 1469598103934665603ULL;
        char key[64];

        snprintf(key, sizeof(key), "%lld/", (long long) project_id);
        for (const char *p = key; *p; p++)
                h = (h ^ (uint8_t) *p) * 1099511628211ULL;
        for (const char *p = name; *p; p++)
                h = (h ^ (uint8_t) *p) * 1099511628211ULL;
        return xasprintf("https://inference-instance-%s-%08x.ai.gcore.dev", name, (unsigned) (h & 0xffffffffu));
}

static struct json_object *threshold(int64_t v) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "threshold", json_object_new_int64(v));
        return o;
}

static struct json_object *container_new(int64_t region_id, const struct container_defaults *cd,
                                         struct json_object *address) {
        struct json_object *c = json_object_new_object();
        struct json_object *scale = json_object_new_object();
        struct json_object *triggers = json_object_new_object();
        struct json_object *ds = json_object_new_object();

        json_object_object_add(triggers, "cpu", threshold(80));
        json_object_object_add(triggers, "memory", threshold(70));
        json_object_object_add(triggers, "gpu_utilization", NULL);
        json_object_object_add(triggers, "gpu_memory", NULL);
        json_object_object_add(triggers, "http", NULL);
        json_object_object_add(triggers, "sqs", NULL);
        json_object_object_add(scale, "min", json_object_new_int64(cd->total));
        json_object_object_add(scale, "max", json_object_new_int64(cd->total > 0 ? cd->total * 2 : 1));
        json_object_object_add(scale, "cooldown_period", json_object_new_int64(60));
        json_object_object_add(scale, "polling_interval", json_object_new_int64(30));
        json_object_object_add(scale, "triggers", triggers);
        json_object_object_add(ds, "ready", json_object_new_int64(cd->ready));
        json_object_object_add(ds, "total", json_object_new_int64(cd->total));

        json_object_object_add(c, "region_id", json_object_new_int64(region_id));
        json_object_object_add(c, "address", json_object_get(address));
        json_object_object_add(c, "scale", scale);
        json_object_object_add(c, "deploy_status", ds);
        json_object_object_add(c, "error_message", NULL);
        return c;
}

/* Keys in the order of Gcore's documentation: identity and status first, then alphabetical. */
static struct json_object *skeleton(int64_t project_id, const char *name, const char *status) {
        struct json_object *d = json_object_new_object();
        struct json_object *logging = json_object_new_object();
        struct json_object *ingress = json_object_new_object();
        _cleanup_free_ char *address = default_address(project_id, name);
        char created[32];
        time_t now = time(NULL);
        struct tm tm;

        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        json_object_object_add(logging, "enabled", json_object_new_boolean(false));
        json_object_object_add(logging, "destination_region_id", NULL);
        json_object_object_add(logging, "topic_name", NULL);
        json_object_object_add(logging, "retention_policy", NULL);
        json_object_object_add(ingress, "disable_response_buffering", json_object_new_boolean(false));

        json_object_object_add(d, "name", json_object_new_string(name));
        json_object_object_add(d, "project_id", json_object_new_int64(project_id));
        json_object_object_add(d, "status", json_object_new_string(status));
        json_object_object_add(d, "address", json_object_new_string(address));
        json_object_object_add(d, "auth_enabled", json_object_new_boolean(false));
        json_object_object_add(d, "api_keys", json_object_new_array());
        json_object_object_add(d, "command", NULL);
        json_object_object_add(d, "containers", json_object_new_array());
        json_object_object_add(d, "created_at", json_object_new_string(created));
        json_object_object_add(d, "credentials_name", json_object_new_string(""));
        json_object_object_add(d, "description", json_object_new_string(""));
        json_object_object_add(d, "envs", json_object_new_object());
        json_object_object_add(d, "flavor_name", json_object_new_string("inference-16vcpu-232gib-1xh100-80gb"));
        json_object_object_add(d, "image", json_object_new_string("vllm/vllm-openai:v0.6.3"));
        json_object_object_add(d, "ingress_opts", ingress);
        json_object_object_add(d, "listening_port", json_object_new_int64(8080));
        json_object_object_add(d, "logging", logging);
        json_object_object_add(d, "object_references", json_object_new_array());
        json_object_object_add(d, "probes", NULL);
        json_object_object_add(d, "timeout", json_object_new_int64(120));
        return d;
}

/* Objects merge key by key, recursively; anything else replaces. Values are copied so the
 * deployment never shares objects with the request or the scenario. */
static void merge_value(struct json_object *parent, const char *key, struct json_object *src) {
        struct json_object *cur, *copy = NULL;

        if (json_object_is_type(src, json_type_object) && json_object_object_get_ex(parent, key, &cur) &&
            json_object_is_type(cur, json_type_object)) {
                json_object_object_foreach(src, k, v)
                        merge_value(cur, k, v);
                return;
        }
        if (src && json_object_deep_copy(src, &copy, NULL) < 0)
                abort();
        json_object_object_add(parent, key, copy);
}

static struct json_object *get(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *get_status(struct json_object *d) {
        struct json_object *s = get(d, "status");

        return json_object_is_type(s, json_type_string) ? json_object_get_string(s) : "";
}

static int check_nonneg_int(struct json_object *v, const char *what, const char **ret_why) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
                *ret_why = what;
                return -EINVAL;
        }
        return 0;
}

static int check_container_entry(struct json_object *e, const char **ret_why) {
        if (!json_object_is_type(e, json_type_object) || !json_object_is_type(get(e, "region_id"), json_type_int)) {
                *ret_why = "each entry of containers needs an integer region_id";
                return -EINVAL;
        }
        json_object_object_foreach(e, k, v) {
                const struct field_rule *r = rule_find(container_rules, ELEMENTSOF(container_rules), k);

                if (streq(k, "region_id") || k[0] == '_')
                        continue;
                if (streq(k, "ready") || streq(k, "total")) {
                        if (check_nonneg_int(v, "containers[].ready/total must be integers >= 0", ret_why) < 0)
                                return -EINVAL;
                } else if (streq(k, "remove")) {
                        if (!json_object_is_type(v, json_type_boolean)) {
                                *ret_why = "containers[].remove must be a boolean";
                                return -EINVAL;
                        }
                } else if (!r) {
                        *ret_why = "unknown key in a containers entry";
                        return -EINVAL;
                } else if (!rule_accepts(r, v)) {
                        *ret_why = "wrong JSON type for a containers entry key";
                        return -EINVAL;
                }
        }
        return 0;
}

static int check_identity(struct json_object *d, const char *k, struct json_object *v, const char **ret_why) {
        struct json_object *cur = get(d, k);

        if (json_object_get_type(v) != json_object_get_type(cur) ||
            !streq(json_object_get_string(v), json_object_get_string(cur))) {
                *ret_why = "name and project_id identify a deployment and cannot be changed";
                return -EINVAL;
        }
        return 0;
}

static int check_array_of(struct json_object *v, json_type type, const char *why, const char **ret_why) {
        if (!json_object_is_type(v, json_type_array)) {
                *ret_why = why;
                return -EINVAL;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++)
                if (!json_object_is_type(json_object_array_get_idx(v, i), type)) {
                        *ret_why = why;
                        return -EINVAL;
                }
        return 0;
}

static int check_key(struct json_object *d, const char *k, struct json_object *v, bool creating,
                     const char **ret_why) {
        const struct field_rule *r = rule_find(deployment_rules, ELEMENTSOF(deployment_rules), k);

        if (k[0] == '_')
                return 0; /* a comment */
        if (streq(k, "name") || streq(k, "project_id"))
                return check_identity(d, k, v, ret_why);
        if (streq(k, "ready") || streq(k, "total"))
                return check_nonneg_int(v, "ready and total must be integers >= 0", ret_why);
        if (streq(k, "regions")) {
                if (!creating) {
                        *ret_why = "regions only applies when creating; use containers to add or remove regions";
                        return -EINVAL;
                }
                return check_array_of(v, json_type_int, "regions must be an array of integers", ret_why);
        }
        if (streq(k, "containers")) {
                if (!json_object_is_type(v, json_type_array)) {
                        *ret_why = "containers must be an array";
                        return -EINVAL;
                }
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (check_container_entry(json_object_array_get_idx(v, i), ret_why) < 0)
                                return -EINVAL;
                return 0;
        }
        if (streq(k, "raw")) {
                if (!json_object_is_type(v, json_type_object)) {
                        *ret_why = "raw must be an object";
                        return -EINVAL;
                }
                return 0;
        }
        if (streq(k, "unset"))
                return check_array_of(v, json_type_string, "unset must be an array of key names", ret_why);
        if (!r) {
                *ret_why = "unknown deployment field (use \"raw\" to serve arbitrary keys)";
                return -EINVAL;
        }
        if (!rule_accepts(r, v)) {
                *ret_why = "wrong JSON type for a deployment field";
                return -EINVAL;
        }
        return 0;
}

static int container_index(struct json_object *containers, int64_t region_id) {
        for (size_t i = 0; i < json_object_array_length(containers); i++) {
                struct json_object *c = json_object_array_get_idx(containers, i);

                if (json_object_get_int64(get(c, "region_id")) == region_id)
                        return (int) i;
        }
        return -1;
}

static void container_set_counts(struct json_object *c, struct json_object *ready, struct json_object *total) {
        struct json_object *ds = get(c, "deploy_status");

        if (!json_object_is_type(ds, json_type_object)) {
                ds = json_object_new_object();
                json_object_object_add(c, "deploy_status", ds);
        }
        if (ready)
                json_object_object_add(ds, "ready", json_object_new_int64(json_object_get_int64(ready)));
        if (total)
                json_object_object_add(ds, "total", json_object_new_int64(json_object_get_int64(total)));
}

static void merge_container_entry(struct json_object *d, struct json_object *e, const struct container_defaults *cd) {
        struct json_object *containers = get(d, "containers");
        int64_t region_id = json_object_get_int64(get(e, "region_id"));
        int idx = container_index(containers, region_id);
        struct json_object *c, *remove = get(e, "remove");

        if (remove && json_object_get_boolean(remove)) {
                if (idx >= 0)
                        (void) json_object_array_del_idx(containers, (size_t) idx, 1);
                return;
        }
        if (idx < 0) {
                /* Scale defaults follow the entry's own counts when it gives them. */
                struct container_defaults here = *cd;
                bool has_ready = json_object_is_type(get(e, "ready"), json_type_int);
                bool has_total = json_object_is_type(get(e, "total"), json_type_int);

                if (has_ready || has_total)
                        here = defaults_for_status(get_status(d), json_object_get_int64(get(e, "ready")), has_ready,
                                                   json_object_get_int64(get(e, "total")), has_total);
                c = container_new(region_id, &here, get(d, "address"));
                json_object_array_add(containers, c);
        } else
                c = json_object_array_get_idx(containers, (size_t) idx);
        json_object_object_foreach(e, k, v)
                if (rule_find(container_rules, ELEMENTSOF(container_rules), k))
                        merge_value(c, k, v);
        container_set_counts(c, get(e, "ready"), get(e, "total"));
}

static int compare_region(const void *a, const void *b) {
        int64_t x = json_object_get_int64(get(*(struct json_object *const *) a, "region_id"));
        int64_t y = json_object_get_int64(get(*(struct json_object *const *) b, "region_id"));

        return x < y ? -1 : x > y;
}

static void merge_containers(struct json_object *d, struct json_object *entries, const struct container_defaults *cd) {
        struct json_object *containers = get(d, "containers");

        /* A deployment served with containers: null (via raw) gets a list again. */
        if (!json_object_is_type(containers, json_type_array)) {
                containers = json_object_new_array();
                json_object_object_add(d, "containers", containers);
        }
        for (size_t i = 0; i < json_object_array_length(entries); i++)
                merge_container_entry(d, json_object_array_get_idx(entries, i), cd);
        json_object_array_sort(containers, compare_region);
}

/* ready/total at the top level apply to every container. */
static void apply_counts_everywhere(struct json_object *d, struct json_object *ready, struct json_object *total) {
        struct json_object *containers = get(d, "containers");

        if ((!ready && !total) || !json_object_is_type(containers, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(containers); i++) {
                struct json_object *c = json_object_array_get_idx(containers, i);

                if (json_object_is_type(c, json_type_object))
                        container_set_counts(c, ready, total);
        }
}

static int merge_fields(struct json_object *d, struct json_object *fields, bool creating,
                        const struct container_defaults *cd, const char **ret_why) {
        struct json_object *v;

        if (!fields)
                return 0;
        if (!json_object_is_type(fields, json_type_object)) {
                *ret_why = "deployment fields must be a JSON object";
                return -EINVAL;
        }
        json_object_object_foreach(fields, k, val)
                if (check_key(d, k, val, creating, ret_why) < 0)
                        return -EINVAL;

        /* Plain fields first, so that containers added below see the new status. */
        json_object_object_foreach(fields, key, value) {
                if (!rule_find(deployment_rules, ELEMENTSOF(deployment_rules), key))
                        continue;
                /* envs is the user's map: merging could never remove a variable. */
                if (streq(key, "envs"))
                        json_object_object_add(d, key, NULL);
                merge_value(d, key, value);
        }
        if ((v = get(fields, "containers"))) {
                struct container_defaults here = cd ? *cd : defaults_for_status(get_status(d), 0, false, 0, false);
                merge_containers(d, v, &here);
        }
        apply_counts_everywhere(d, get(fields, "ready"), get(fields, "total"));
        if ((v = get(fields, "raw"))) {
                json_object_object_foreach(v, rk, rv)
                        merge_value(d, rk, rv);
        }
        if ((v = get(fields, "unset")))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        json_object_object_del(d, json_object_get_string(json_object_array_get_idx(v, i)));
        return 0;
}

int deployment_json_merge(struct json_object *d, struct json_object *fields, const char **ret_why) {
        return merge_fields(d, fields, false, NULL, ret_why);
}

static int64_t get_int_or(struct json_object *o, const char *key, int64_t def, bool *ret_has) {
        struct json_object *v = get(o, key);

        *ret_has = json_object_is_type(v, json_type_int);
        return *ret_has ? json_object_get_int64(v) : def;
}

int deployment_json_new(int64_t project_id, const char *name, struct json_object *fields,
                        struct json_object **ret, const char **ret_why) {
        _cleanup_json_ struct json_object *d = NULL;
        struct json_object *status = get(fields, "status"), *regions = get(fields, "regions");
        struct container_defaults cd;
        bool has_ready, has_total;
        int64_t ready, total;

        if (fields && !json_object_is_type(fields, json_type_object)) {
                *ret_why = "deployment fields must be a JSON object";
                return -EINVAL;
        }
        d = skeleton(project_id, name,
                     json_object_is_type(status, json_type_string) ? json_object_get_string(status) : "ACTIVE");
        ready = get_int_or(fields, "ready", 0, &has_ready);
        total = get_int_or(fields, "total", 0, &has_total);
        cd = defaults_for_status(get_status(d), ready, has_ready, total, has_total);

        /* Without explicit containers, one per region (default: region 1). */
        if (!get(fields, "containers")) {
                struct json_object *containers = get(d, "containers");

                if (!json_object_is_type(regions, json_type_array))
                        json_object_array_add(containers, container_new(1, &cd, get(d, "address")));
                else
                        for (size_t i = 0; i < json_object_array_length(regions); i++) {
                                struct json_object *r = json_object_array_get_idx(regions, i);

                                if (json_object_is_type(r, json_type_int) &&
                                    container_index(containers, json_object_get_int64(r)) < 0)
                                        json_object_array_add(containers,
                                                              container_new(json_object_get_int64(r), &cd,
                                                                            get(d, "address")));
                        }
                json_object_array_sort(containers, compare_region);
        }
        if (merge_fields(d, fields, true, &cd, ret_why) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(d);
        return 0;
}

bool deployment_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > 255)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || (uint8_t) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}
