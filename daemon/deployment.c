#include <json-c/json.h>

#include "deployment.h"
#include "strtable.h"

/* The strings of stored snapshots that the fleet shares (status, image, flavor, command, the
 * envs keys: 100,000 deployments often hold a handful of distinct values), kept once each with a
 * count of the snapshots that hold it. */
struct shared_string {
        size_t refs;
        char s[];
};

static struct strtable shared = STRTABLE_INIT(struct shared_string, s);

static char *share(const char *s) {
        struct shared_string *x;

        if (!s)
                return NULL;
        x = strtable_find(&shared, s);
        if (!x) {
                x = xmalloc(sizeof(*x) + strlen(s) + 1);
                x->refs = 0;
                strcpy(x->s, s);
                strtable_add(&shared, x);
        }
        x->refs++;
        return x->s;
}

static void unshare(char *s) {
        struct shared_string *x;

        if (!s)
                return;
        x = (struct shared_string *) (s - offsetof(struct shared_string, s));
        if (--x->refs > 0)
                return;
        strtable_remove(&shared, x);
        free(x);
}

static const char *const status_names[_STATUS_MAX] = {
        [STATUS_UNKNOWN] = "UNKNOWN",
        [STATUS_ACTIVE] = "ACTIVE",
        [STATUS_DELETING] = "DELETING",
        [STATUS_DEPLOYING] = "DEPLOYING",
        [STATUS_DISABLED] = "DISABLED",
        [STATUS_PARTIALLYDEPLOYED] = "PARTIALLYDEPLOYED",
        [STATUS_PENDING] = "PENDING",
};

const char *deploy_status_to_string(enum deploy_status s) {
        return s >= 0 && s < _STATUS_MAX ? status_names[s] : "UNKNOWN";
}

enum deploy_status deploy_status_from_string(const char *s) {
        for (int i = STATUS_ACTIVE; i < _STATUS_MAX; i++)
                if (s && streq(s, status_names[i]))
                        return i;
        return STATUS_UNKNOWN;
}

bool deploy_status_is_transitional(enum deploy_status s) {
        return s == STATUS_DEPLOYING || s == STATUS_PARTIALLYDEPLOYED || s == STATUS_DELETING ||
               s == STATUS_UNKNOWN;
}

void container_done(struct container *c) {
        free(c->error_message);
        *c = (struct container) {};
}

void deployment_done(struct deployment *d) {
        if (!d)
                return;
        if (d->packed) {
                /* Everything else lives in d's own allocation. */
                unshare(d->status);
                unshare(d->image);
                unshare(d->flavor_name);
                unshare(d->command);
                unshare(d->envs_keys);
                *d = (struct deployment) { .packed = true };
                return;
        }
        free(d->name);
        free(d->status);
        free(d->image);
        free(d->flavor_name);
        free(d->address);
        free(d->command);
        free(d->envs_keys);
        for (size_t i = 0; i < d->n_containers; i++)
                container_done(&d->containers[i]);
        free(d->containers);
        *d = (struct deployment) {};
}

struct deployment *deployment_free(struct deployment *d) {
        deployment_done(d);
        free(d);
        return NULL;
}

static size_t string_size(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

/* Copies s to *at and moves *at past it. */
static char *pack_string(char **at, const char *s) {
        char *copy = *at;
        size_t n = string_size(s);

        if (!s)
                return NULL;
        memcpy(copy, s, n);
        *at += n;
        return copy;
}

static size_t packed_size(const struct deployment *d, const char *name, bool own) {
        size_t size = sizeof(struct deployment) + d->n_containers * sizeof(struct container);

        size += string_size(own ? name : NULL) + string_size(d->address);
        for (size_t i = 0; i < d->n_containers; i++)
                size += string_size(d->containers[i].error_message);
        return size;
}

/* A packed copy of d under name, in n (zeroed, packed_size() bytes): a copy of name (own) or
 * name itself. */
static struct deployment *pack_at(struct deployment *n, const struct deployment *d, const char *name, bool own) {
        char *at;

        n->containers = d->n_containers > 0 ? (struct container *) (n + 1) : NULL;
        at = (char *) (n + 1) + d->n_containers * sizeof(struct container);
        n->name = own ? pack_string(&at, name) : (char *) name;
        n->project_id = d->project_id;
        n->status = share(d->status);
        n->status_enum = d->status_enum;
        n->image = share(d->image);
        n->flavor_name = share(d->flavor_name);
        n->address = pack_string(&at, d->address);
        n->command = share(d->command);
        n->envs_keys = share(d->envs_keys);
        n->n_containers = d->n_containers;
        n->packed = true;
        for (size_t i = 0; i < d->n_containers; i++) {
                n->containers[i] = d->containers[i];
                n->containers[i].error_message = pack_string(&at, d->containers[i].error_message);
        }
        return n;
}

static struct deployment *pack(const struct deployment *d, const char *name, bool own) {
        return pack_at(xcalloc(1, packed_size(d, name, own)), d, name, own);
}

size_t deployment_packed_size(const struct deployment *d) {
        return packed_size(d, d->name, true);
}

struct deployment *deployment_pack_into(const struct deployment *d, void *buf) {
        memset(buf, 0, deployment_packed_size(d));
        return pack_at(buf, d, d->name, true);
}

struct deployment *deployment_dup_named(const struct deployment *d, const char *name) {
        return pack(d, name, true);
}

struct deployment *deployment_dup_borrowing(const struct deployment *d, const char *name) {
        return pack(d, name, false);
}

struct deployment *deployment_dup(const struct deployment *d) {
        return deployment_dup_named(d, d->name);
}

const struct container *deployment_find_container(const struct deployment *d, int64_t region_id) {
        for (size_t i = 0; i < d->n_containers; i++)
                if (d->containers[i].region_id == region_id)
                        return &d->containers[i];
        return NULL;
}

struct json_object *deployment_containers_json(const struct deployment *d) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; d && i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "region_id", json_object_new_int64(c->region_id));
                json_object_object_add(o, "ready", json_object_new_int64(c->ready));
                json_object_object_add(o, "total", json_object_new_int64(c->total));
                json_object_object_add(o, "error_message",
                                       c->error_message ? json_object_new_string(c->error_message) : NULL);
                json_object_array_add(a, o);
        }
        return a;
}
