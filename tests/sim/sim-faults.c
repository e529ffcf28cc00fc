#include <math.h>

#include "sim.h"

#define OVERSIZE_DEFAULT (16u * 1024 * 1024)
#define OVERSIZE_MAX (1024u * 1024 * 1024)

static const char *const kind_names[_FAULT_KIND_MAX] = {
        [FAULT_STATUS] = "status",
        [FAULT_429] = "429",
        [FAULT_HANG] = "hang",
        [FAULT_RESET] = "reset",
        [FAULT_MALFORMED] = "malformed",
        [FAULT_TRUNCATED] = "truncated",
        [FAULT_WRONGTYPE] = "wrongtype",
        [FAULT_OVERSIZE] = "oversize",
        [FAULT_SLOW] = "slow",
};

static const char *const wrongtype_variants[] = { "array", "null", "string", "no_status", "wrong_types" };

#define ENDPOINTS_ANY ((1u << ENDPOINT_GET) | (1u << ENDPOINT_LIST) | (1u << ENDPOINT_OTHER))

void fault_done(struct fault *f) {
        free(f->name);
        free(f->retry_after);
        free(f->body);
        free(f->variant);
        *f = (struct fault) {};
}

void fault_copy(struct fault *dst, const struct fault *src) {
        *dst = *src;
        dst->name = xstrdup(src->name);
        dst->retry_after = xstrdup(src->retry_after);
        dst->body = xstrdup(src->body);
        dst->variant = xstrdup(src->variant);
}

void faults_done(struct faults *f) {
        faults_clear(f);
        free(f->items);
        f->items = NULL;
}

void faults_clear(struct faults *f) {
        for (size_t i = 0; i < f->n_items; i++)
                fault_done(&f->items[i]);
        f->n_items = 0;
}

static int parse_kind(struct json_object *spec, enum fault_kind *ret) {
        const char *k;

        if (json_get_string(spec, "kind", &k) < 0)
                return -EINVAL;
        for (size_t i = 0; i < _FAULT_KIND_MAX; i++)
                if (streq(k, kind_names[i])) {
                        *ret = (enum fault_kind) i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_endpoint(struct json_object *spec, unsigned *ret) {
        const char *e = "any";

        if (json_get_string(spec, "endpoint", &e) == -EINVAL)
                return -EINVAL;
        if (streq(e, "get"))
                *ret = 1u << ENDPOINT_GET;
        else if (streq(e, "list"))
                *ret = 1u << ENDPOINT_LIST;
        else if (streq(e, "regions"))
                *ret = 1u << ENDPOINT_REGIONS;
        else if (streq(e, "logs"))
                *ret = 1u << ENDPOINT_LOGS;
        else if (streq(e, "capacity"))
                *ret = 1u << ENDPOINT_CAPACITY;
        else if (streq(e, "any"))
                *ret = ENDPOINTS_ANY;
        else
                return -EINVAL;
        return 0;
}

/* count and duration may be combined (whichever ends first); with neither, the fault stays until
 * DELETE /_sim/faults. Durations run on real time, not on the (pausable) scenario clock. */
static int parse_extent(struct json_object *spec, struct fault *f, usec_t now, const char **why) {
        double duration;
        int r;

        f->remaining = -1;
        f->expires = USEC_INFINITY;
        r = json_get_int64(spec, "count", &f->remaining);
        if (r == -EINVAL || (r == 0 && f->remaining < 1)) {
                *why = "count must be an integer >= 1";
                return -EINVAL;
        }
        r = json_get_double(spec, "duration", &duration);
        if (r == -EINVAL || (r == 0 && (duration <= 0 || duration > 1e7))) {
                *why = "duration must be a number of seconds > 0";
                return -EINVAL;
        }
        if (r == 0)
                f->expires = now + (usec_t) (duration * USEC_PER_SEC);
        return 0;
}

static int parse_target(struct json_object *spec, struct fault *f, const char **why) {
        const char *name;
        int r;

        if (parse_endpoint(spec, &f->endpoints) < 0) {
                *why = "endpoint must be \"get\", \"list\" or \"any\"";
                return -EINVAL;
        }
        r = json_get_int64(spec, "project_id", &f->project_id);
        if (r == -EINVAL) {
                *why = "project_id must be an integer";
                return -EINVAL;
        }
        f->has_project = r == 0;
        r = json_get_string(spec, "name", &name);
        if (r == -EINVAL) {
                *why = "name must be a string";
                return -EINVAL;
        }
        if (r == 0)
                f->name = xstrdup(name);
        return 0;
}

/* retry_after is sent verbatim; a number is accepted for convenience and sent as seconds. */
static int parse_retry_after(struct json_object *spec, struct fault *f, const char **why) {
        struct json_object *v;

        if (!json_object_object_get_ex(spec, "retry_after", &v))
                return 0;
        if (json_object_is_type(v, json_type_string))
                f->retry_after = xstrdup(json_object_get_string(v));
        else if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
                f->retry_after = xasprintf("%lld", (long long) json_object_get_int64(v));
        else {
                *why = "retry_after must be a string (seconds or an HTTP date)";
                return -EINVAL;
        }
        return 0;
}

static int parse_variant(struct json_object *spec, struct fault *f, const char **why) {
        const char *v = "array";

        if (json_get_string(spec, "variant", &v) == -EINVAL)
                goto bad;
        for (size_t i = 0; i < ELEMENTSOF(wrongtype_variants); i++)
                if (streq(v, wrongtype_variants[i])) {
                        f->variant = xstrdup(v);
                        return 0;
                }
bad:
        *why = "variant must be one of array, null, string, no_status, wrong_types";
        return -EINVAL;
}

static int parse_kind_options(struct json_object *spec, struct fault *f, const char **why) {
        int64_t status = f->kind == FAULT_429 ? 429 : 500, size = OVERSIZE_DEFAULT;
        double bps = 10;
        const char *body = NULL;

        if (json_get_int64(spec, "status", &status) == -EINVAL || status < 100 || status > 599) {
                *why = "status must be an HTTP status code";
                return -EINVAL;
        }
        f->status = (unsigned) status;
        if (json_get_int64(spec, "size", &size) == -EINVAL || size < 1 || size > OVERSIZE_MAX) {
                *why = "size must be a number of bytes in 1..1GiB";
                return -EINVAL;
        }
        f->size = (uint64_t) size;
        if (json_get_double(spec, "bytes_per_second", &bps) == -EINVAL || bps < 1 || bps > 1e9) {
                *why = "bytes_per_second must be a number >= 1";
                return -EINVAL;
        }
        f->bytes_per_second = (uint64_t) bps;
        if (json_get_string(spec, "body", &body) == -EINVAL) {
                *why = "body must be a string";
                return -EINVAL;
        }
        f->body = xstrdup(body);
        if (parse_retry_after(spec, f, why) < 0)
                return -EINVAL;
        return f->kind == FAULT_WRONGTYPE ? parse_variant(spec, f, why) : 0;
}

int faults_add(struct faults *f, struct json_object *spec, usec_t now, uint64_t *ret_id, const char **ret_why) {
        struct fault new = {};

        if (!json_object_is_type(spec, json_type_object)) {
                *ret_why = "a fault is a JSON object";
                return -EINVAL;
        }
        static const char *const known[] = { "kind", "count", "duration", "endpoint", "project_id", "name", "status",
                                             "retry_after", "body", "variant", "size", "bytes_per_second", NULL };

        if (json_unknown_key(spec, known)) {
                *ret_why = "unknown key in a fault";
                return -EINVAL;
        }
        if (parse_kind(spec, &new.kind) < 0) {
                *ret_why = "kind must be one of status, 429, hang, reset, malformed, truncated, wrongtype, "
                           "oversize, slow";
                return -EINVAL;
        }
        if (parse_extent(spec, &new, now, ret_why) < 0 || parse_target(spec, &new, ret_why) < 0 ||
            parse_kind_options(spec, &new, ret_why) < 0) {
                fault_done(&new);
                return -EINVAL;
        }
        new.id = ++f->next_id;
        *(struct fault *) array_append(&f->items, &f->n_items, sizeof(*f->items)) = new;
        *ret_id = new.id;
        return 0;
}

static bool fault_matches(const struct fault *f, enum sim_endpoint e, int64_t project_id, const char *name,
                          usec_t now) {
        if (f->expires <= now || f->remaining == 0 || !(f->endpoints & (1u << e)))
                return false;
        if (f->has_project && f->project_id != project_id)
                return false;
        /* A fault aimed at one deployment hits its get-one requests only. */
        if (f->name && (e != ENDPOINT_GET || !streq_ptr(f->name, name)))
                return false;
        return true;
}

static void faults_remove_at(struct faults *f, size_t i) {
        fault_done(&f->items[i]);
        memmove(f->items + i, f->items + i + 1, (f->n_items - i - 1) * sizeof(*f->items));
        f->n_items--;
}

bool faults_take(struct faults *f, enum sim_endpoint e, int64_t project_id, const char *name, usec_t now,
                 struct fault *ret) {
        for (size_t i = 0; i < f->n_items; i++) {
                struct fault *x = &f->items[i];

                if (!fault_matches(x, e, project_id, name, now))
                        continue;
                if (x->remaining > 0)
                        x->remaining--;
                x->hits++;
                fault_copy(ret, x);
                /* Used up: gone, except a hang, which holds its requests until it is deleted or
                 * its duration ends. */
                if (x->remaining == 0 && x->kind != FAULT_HANG)
                        faults_remove_at(f, i);
                return true;
        }
        return false;
}

/* A fault whose count is used up stays in force for the requests it hangs, until it is deleted
 * or its duration ends. */
bool faults_live(const struct faults *f, uint64_t id, usec_t now) {
        for (size_t i = 0; i < f->n_items; i++)
                if (f->items[i].id == id)
                        return f->items[i].expires > now;
        return false;
}

void faults_expire(struct faults *f, usec_t now) {
        size_t kept = 0;

        for (size_t i = 0; i < f->n_items; i++) {
                if (f->items[i].expires <= now)
                        fault_done(&f->items[i]);
                else
                        f->items[kept++] = f->items[i];
        }
        f->n_items = kept;
}

int faults_remove(struct faults *f, uint64_t id) {
        for (size_t i = 0; i < f->n_items; i++)
                if (f->items[i].id == id) {
                        faults_remove_at(f, i);
                        return 0;
                }
        return -ENOENT;
}

static const char *endpoint_name(unsigned mask) {
        static const char *const names[_ENDPOINT_MAX] = {
                [ENDPOINT_GET] = "get", [ENDPOINT_LIST] = "list", [ENDPOINT_REGIONS] = "regions",
                [ENDPOINT_LOGS] = "logs", [ENDPOINT_CAPACITY] = "capacity",
        };

        for (size_t i = 0; i < _ENDPOINT_MAX; i++)
                if (mask == 1u << i && names[i])
                        return names[i];
        return "any";
}

static struct json_object *fault_to_json(const struct fault *f, usec_t now) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_uint64(f->id));
        json_object_object_add(o, "kind", json_object_new_string(kind_names[f->kind]));
        json_object_object_add(o, "endpoint", json_object_new_string(endpoint_name(f->endpoints)));
        json_object_object_add(o, "project_id", f->has_project ? json_object_new_int64(f->project_id) : NULL);
        json_object_object_add(o, "name", f->name ? json_object_new_string(f->name) : NULL);
        json_object_object_add(o, "remaining", f->remaining >= 0 ? json_object_new_int64(f->remaining) : NULL);
        json_object_object_add(o, "expires_in",
                               f->expires == USEC_INFINITY
                                       ? NULL
                                       : json_object_new_double((double) (f->expires - MIN(now, f->expires)) /
                                                                USEC_PER_SEC));
        json_object_object_add(o, "hits", json_object_new_uint64(f->hits));
        json_object_object_add(o, "active", json_object_new_boolean(f->remaining != 0 && f->expires > now));
        if (f->kind == FAULT_STATUS || f->kind == FAULT_429)
                json_object_object_add(o, "status", json_object_new_int64(f->status));
        if (f->retry_after)
                json_object_object_add(o, "retry_after", json_object_new_string(f->retry_after));
        if (f->variant)
                json_object_object_add(o, "variant", json_object_new_string(f->variant));
        if (f->kind == FAULT_OVERSIZE)
                json_object_object_add(o, "size", json_object_new_uint64(f->size));
        if (f->kind == FAULT_SLOW)
                json_object_object_add(o, "bytes_per_second", json_object_new_uint64(f->bytes_per_second));
        return o;
}

struct json_object *faults_to_json(const struct faults *f, usec_t now) {
        struct json_object *a = json_object_new_array();

        /* Expired ones are dropped by the next tick; they are already gone as far as anyone asks. */
        for (size_t i = 0; i < f->n_items; i++)
                if (f->items[i].expires > now)
                        json_object_array_add(a, fault_to_json(&f->items[i], now));
        return a;
}
