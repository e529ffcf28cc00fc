#include "sim.h"

/* The keyed counters live in json-c objects: a hash map that serializes itself. */

void counters_init(struct counters *c) {
        *c = (struct counters) {
                .by_deployment = json_object_new_object(),
                .by_status = json_object_new_object(),
                .by_project_list = json_object_new_object(),
                .by_logs = json_object_new_object(),
        };
}

void counters_done(struct counters *c) {
        json_object_put(c->by_deployment);
        json_object_put(c->by_status);
        json_object_put(c->by_project_list);
        json_object_put(c->by_logs);
        *c = (struct counters) {};
}

static void bump(struct json_object *map, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(map, key, &v)) {
                v = json_object_new_int64(0);
                json_object_object_add(map, key, v);
        }
        (void) json_object_int_inc(v, 1);
}

void counters_request(struct counters *c, enum sim_endpoint e, int64_t project_id, const char *name) {
        char key[320];

        c->total++;
        c->by_endpoint[e]++;
        if (e == ENDPOINT_GET) {
                snprintf(key, sizeof(key), "%lld/%s", (long long) project_id, name);
                bump(c->by_deployment, key);
        } else if (e == ENDPOINT_LIST) {
                snprintf(key, sizeof(key), "%lld", (long long) project_id);
                bump(c->by_project_list, key);
        }
}

void counters_logs(struct counters *c, int64_t project_id, const char *name, int64_t region_id) {
        char key[340];

        snprintf(key, sizeof(key), "%lld/%s/%lld", (long long) project_id, name, (long long) region_id);
        bump(c->by_logs, key);
}

void counters_status(struct counters *c, unsigned status) {
        char key[16];

        if (status == 0)
                strcpy(key, "none");
        else
                snprintf(key, sizeof(key), "%u", status);
        bump(c->by_status, key);
}

static struct json_object *copy(struct json_object *o) {
        struct json_object *dup = NULL;

        if (json_object_deep_copy(o, &dup, NULL) < 0)
                abort();
        return dup;
}

struct json_object *counters_to_json(const struct counters *c) {
        struct json_object *o = json_object_new_object(), *by_endpoint = json_object_new_object();

        json_object_object_add(by_endpoint, "get", json_object_new_uint64(c->by_endpoint[ENDPOINT_GET]));
        json_object_object_add(by_endpoint, "list", json_object_new_uint64(c->by_endpoint[ENDPOINT_LIST]));
        json_object_object_add(by_endpoint, "other", json_object_new_uint64(c->by_endpoint[ENDPOINT_OTHER]));
        json_object_object_add(by_endpoint, "regions", json_object_new_uint64(c->by_endpoint[ENDPOINT_REGIONS]));
        json_object_object_add(by_endpoint, "logs", json_object_new_uint64(c->by_endpoint[ENDPOINT_LOGS]));
        json_object_object_add(by_endpoint, "capacity", json_object_new_uint64(c->by_endpoint[ENDPOINT_CAPACITY]));
        json_object_object_add(o, "total", json_object_new_uint64(c->total));
        json_object_object_add(o, "by_endpoint", by_endpoint);
        json_object_object_add(o, "by_deployment", copy(c->by_deployment));
        json_object_object_add(o, "by_status", copy(c->by_status));
        json_object_object_add(o, "by_project_list", copy(c->by_project_list));
        json_object_object_add(o, "by_logs", copy(c->by_logs));
        return o;
}
