/* A deployment as one poll saw it: what the health model, the diff engine and the events need
 * of InferenceInstanceOutSerializerV3 (10,000 of them are kept in memory: nothing more). */
#pragma once

#include "util.h"

enum deploy_status {
        STATUS_UNKNOWN,           /* a value the API schema does not (yet) list */
        STATUS_ACTIVE,
        STATUS_DELETING,
        STATUS_DEPLOYING,
        STATUS_DISABLED,
        STATUS_PARTIALLYDEPLOYED,
        STATUS_PENDING,
        _STATUS_MAX,
};

struct container {
        /* In an order without holes: 200,000 of them are kept. */
        int64_t region_id;
        int32_t ready;            /* deploy_status.ready, 0 to INT32_MAX (gcore.c) */
        int32_t total;            /* deploy_status.total, 0 to INT32_MAX */
        char *error_message;      /* NULL when null or empty */
        int32_t scale_min;        /* -1 when absent; clamped to 32 bits (only compared) */
        int32_t scale_max;        /* -1 when absent */
};

/* v within [min, INT32_MAX]: how a container's 32-bit fields take a 64-bit value. */
static inline int32_t container_int32(int64_t v, int32_t min) {
        return (int32_t) MAX(MIN(v, (int64_t) INT32_MAX), (int64_t) min);
}

struct deployment {
        char *name;
        int64_t project_id;
        char *status;             /* the raw string, e.g. "PARTIALLYDEPLOYED" */
        enum deploy_status status_enum;
        /* Made by deployment_dup(): one allocation holding the struct, its containers, its name,
         * address and error messages (a stored snapshot took a dozen, a third of its memory in
         * malloc overhead), the strings the fleet shares (status, image, flavor_name, command,
         * envs_keys) kept once for every snapshot that holds them; read-only, freed by
         * deployment_free() alone. After status_enum, in its padding. */
        bool packed;
        /* Fields watched by deployment.spec_changed; NULL when null or absent. */
        char *image;
        char *flavor_name;
        char *address;
        char *command;            /* a string as given, or an array joined with single spaces */
        char *envs_keys;          /* the keys of envs, sorted, comma-separated ("" when none) */
        struct container *containers;
        size_t n_containers;
};

const char *deploy_status_to_string(enum deploy_status s);
enum deploy_status deploy_status_from_string(const char *s);
/* DEPLOYING, PARTIALLYDEPLOYED, DELETING and unrecognised values: polled at fast_interval. */
bool deploy_status_is_transitional(enum deploy_status s);

void container_done(struct container *c);
struct deployment *deployment_free(struct deployment *d);
void deployment_done(struct deployment *d);
/* Deep copy, packed. */
struct deployment *deployment_dup(const struct deployment *d);
/* The same under another name. */
struct deployment *deployment_dup_named(const struct deployment *d, const char *name);
/* The same under name itself, not a copy: name must outlive it (a watch's stored snapshot, and
 * the watch's name: 100,000 of them). */
struct deployment *deployment_dup_borrowing(const struct deployment *d, const char *name);
/* deployment_dup() into a buffer of the caller's (at least deployment_packed_size() bytes,
 * aligned for a pointer), e.g. a batch of records made while a parse tree lives (state.c):
 * deployment_done() undoes it, never deployment_free(). */
size_t deployment_packed_size(const struct deployment *d);
struct deployment *deployment_pack_into(const struct deployment *d, void *buf);
struct json_object;
/* [{"region_id", "ready", "total", "error_message"}, ...] for --once and --status; d may be NULL. */
struct json_object *deployment_containers_json(const struct deployment *d);
const struct container *deployment_find_container(const struct deployment *d, int64_t region_id);
