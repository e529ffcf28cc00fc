#include <json-c/json.h>

#include "deployment.h"

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

struct deployment *deployment_dup(const struct deployment *d) {
        struct deployment *n = xcalloc(1, sizeof(*n));

        *n = (struct deployment) {
                .name = xstrdup(d->name),
                .project_id = d->project_id,
                .status = xstrdup(d->status),
                .status_enum = d->status_enum,
                .image = xstrdup(d->image),
                .flavor_name = xstrdup(d->flavor_name),
                .address = xstrdup(d->address),
                .command = xstrdup(d->command),
                .envs_keys = xstrdup(d->envs_keys),
                .n_containers = d->n_containers,
        };
        if (d->n_containers > 0) {
                n->containers = xcalloc(d->n_containers, sizeof(struct container));
                for (size_t i = 0; i < d->n_containers; i++) {
                        n->containers[i] = d->containers[i];
                        n->containers[i].error_message = xstrdup(d->containers[i].error_message);
                }
        }
        return n;
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
