/* The region directory of an account (GET /cloud/v1/regions): display names and states by
 * region id, so that events say "Luxembourg-2 (7)" instead of "7". Pure: parsing and lookups. */
#pragma once

#include "util.h"

struct json_object;

struct region {
        int64_t id;
        char *name;               /* display_name, neutralised; NULL when absent */
        char *state;              /* "ACTIVE", "MAINTENANCE", ...; NULL when absent */
};

struct region_directory {
        struct region *items;
        size_t n;
};

/* {count, results:[{id, display_name, state, ...}]}: entries without a usable id are skipped,
 * other keys ignored. -EBADMSG with a static reason when the body is not such a page. */
int region_directory_parse(const char *body, size_t size, struct region_directory *ret, const char **ret_why);
/* [{id, display_name, state}], the form kept in the state directory; the inverse below. */
struct json_object *region_directory_to_json(const struct region_directory *d);
void region_directory_from_json(struct json_object *a, struct region_directory *ret);
const struct region *region_directory_find(const struct region_directory *d, int64_t id);
void region_directory_done(struct region_directory *d);

/* GET /cloud/v3/inference/capacity: {count, results:[{region_id, capacity:[{flavor_name,
 * capacity}]}]}. The capacity left for flavor in region_id: 0 and *ret set when listed, -ENOENT
 * when not, -EBADMSG (with a static reason) when the body is not such a page. */
int capacity_parse(const char *body, size_t size, int64_t region_id, const char *flavor, int64_t *ret,
                   const char **ret_why);

/* "Luxembourg-2 (7)", or "7" when the id is unknown or unnamed (d may be NULL). */
char *region_label(const struct region_directory *d, int64_t id);
/* "Luxembourg-2 (7), Paris (1)" for a list of region ids "7,1" (d may be NULL); "" for none. */
char *region_labels(const struct region_directory *d, const char *ids);
