#include <json-c/json.h>
#include <limits.h>

#include "logtail.h"
#include "region.h"

/* Names are shown in one-line messages and Slack fields: short and without controls. */
#define REGION_NAME_MAX 64

static char *string_member(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
            json_object_get_string_len(v) == 0)
                return NULL;
        return logtail_neutralise(json_object_get_string(v), (size_t) json_object_get_string_len(v),
                                  REGION_NAME_MAX);
}

static void add_entry(struct region_directory *d, struct json_object *o) {
        struct json_object *id;
        struct region *r;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "id", &id) ||
            !json_object_is_type(id, json_type_int) || json_object_get_int64(id) < 0)
                return;
        if (region_directory_find(d, json_object_get_int64(id)))
                return;
        r = array_append(&d->items, &d->n, sizeof(struct region));
        r->id = json_object_get_int64(id);
        r->name = string_member(o, "display_name");
        r->state = string_member(o, "state");
}

int region_directory_parse(const char *body, size_t size, struct region_directory *ret, const char **ret_why) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *doc, *results;
        struct region_directory d = {};

        doc = json_tokener_parse_ex(tok, body, (int) MIN(size, (size_t) INT_MAX));
        json_tokener_free(tok);
        if (!doc) {
                *ret_why = "not JSON";
                return -EBADMSG;
        }
        if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "results", &results) ||
            !json_object_is_type(results, json_type_array)) {
                json_object_put(doc);
                *ret_why = "no \"results\" array";
                return -EBADMSG;
        }
        for (size_t i = 0; i < json_object_array_length(results); i++)
                add_entry(&d, json_object_array_get_idx(results, i));
        json_object_put(doc);
        *ret = d;
        return 0;
}

struct json_object *region_directory_to_json(const struct region_directory *d) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; i < d->n; i++) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_int64(d->items[i].id));
                if (d->items[i].name)
                        json_object_object_add(o, "display_name", json_object_new_string(d->items[i].name));
                if (d->items[i].state)
                        json_object_object_add(o, "state", json_object_new_string(d->items[i].state));
                json_object_array_add(a, o);
        }
        return a;
}

void region_directory_from_json(struct json_object *a, struct region_directory *ret) {
        struct region_directory d = {};

        if (json_object_is_type(a, json_type_array))
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        add_entry(&d, json_object_array_get_idx(a, i));
        *ret = d;
}

static struct json_object *region_capacity(struct json_object *results, int64_t region_id) {
        for (size_t i = 0; i < json_object_array_length(results); i++) {
                struct json_object *r = json_object_array_get_idx(results, i), *id, *list;
                if (json_object_is_type(r, json_type_object) && json_object_object_get_ex(r, "region_id", &id) &&
                    json_object_is_type(id, json_type_int) && json_object_get_int64(id) == region_id &&
                    json_object_object_get_ex(r, "capacity", &list) && json_object_is_type(list, json_type_array))
                        return list;
        }
        return NULL;
}

int capacity_parse(const char *body, size_t size, int64_t region_id, const char *flavor, int64_t *ret,
                   const char **ret_why) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *doc, *results, *list;
        int r = -ENOENT;

        doc = json_tokener_parse_ex(tok, body, (int) MIN(size, (size_t) INT_MAX));
        json_tokener_free(tok);
        if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "results", &results) ||
            !json_object_is_type(results, json_type_array)) {
                json_object_put(doc);
                *ret_why = "not a {count, results} page of capacities";
                return -EBADMSG;
        }
        list = region_capacity(results, region_id);
        for (size_t i = 0; list && i < json_object_array_length(list) && r < 0; i++) {
                struct json_object *f = json_object_array_get_idx(list, i), *name, *cap;
                if (json_object_is_type(f, json_type_object) && json_object_object_get_ex(f, "flavor_name", &name) &&
                    json_object_is_type(name, json_type_string) && streq(json_object_get_string(name), flavor) &&
                    json_object_object_get_ex(f, "capacity", &cap) && json_object_is_type(cap, json_type_int)) {
                        *ret = json_object_get_int64(cap);
                        r = 0;
                }
        }
        json_object_put(doc);
        return r;
}

const struct region *region_directory_find(const struct region_directory *d, int64_t id) {
        for (size_t i = 0; d && i < d->n; i++)
                if (d->items[i].id == id)
                        return &d->items[i];
        return NULL;
}

void region_directory_done(struct region_directory *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].name);
                free(d->items[i].state);
        }
        free(d->items);
        *d = (struct region_directory) {};
}

char *region_label(const struct region_directory *d, int64_t id) {
        const struct region *r = region_directory_find(d, id);

        if (!r || !r->name)
                return xasprintf("%lld", (long long) id);
        return xasprintf("%s (%lld)", r->name, (long long) id);
}

char *region_labels(const struct region_directory *d, const char *ids) {
        _cleanup_free_ char *copy = xstrdup(strempty(ids));
        char *names = NULL, *save = NULL;

        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                _cleanup_free_ char *label = region_label(d, strtoll(t, NULL, 10));
                strextendf(&names, ", ", "%s", label);
        }
        return names ? names : xstrdup("");
}
