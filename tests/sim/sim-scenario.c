#include <math.h>

#include "sim.h"

/* A large advance must not stall the server applying millions of random changes at once. */
#define RANDOM_BURST_MAX 100000
#define SCENARIO_SIZE_MAX (64u * 1024 * 1024)

/* splitmix64: tiny, and the same sequence for the same --seed on every machine. */
static uint64_t rng_next(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *state, uint64_t n) {
        return n ? rng_next(state) % n : 0;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

struct scenario *scenario_free(struct scenario *s) {
        if (!s)
                return NULL;
        strv_free(s->tokens, s->n_tokens);
        json_object_put(s->regions);
        json_object_put(s->capacity);
        for (size_t i = 0; i < s->n_timeline; i++) {
                free(s->timeline[i].name);
                json_object_put(s->timeline[i].fields);
        }
        free(s->timeline);
        for (size_t i = 0; i < s->n_random; i++) {
                free(s->random[i].prefix);
                strv_free(s->random[i].statuses, s->random[i].n_statuses);
        }
        free(s->random);
        free(s);
        return NULL;
}

static void scenario_freep(struct scenario **s) {
        scenario_free(*s);
}

/* Each loader returns -EINVAL with *why set to a static reason. */

static int get_array(struct json_object *o, const char *key, struct json_object **ret, const char **why) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_array)) {
                *why = "must be an array";
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int get_identity(struct json_object *e, int64_t *ret_project, const char **ret_name, const char **why) {
        if (!json_object_is_type(e, json_type_object)) {
                *why = "each entry must be an object";
                return -EINVAL;
        }
        if (json_get_int64(e, "project_id", ret_project) < 0) {
                *why = "an integer project_id is required";
                return -EINVAL;
        }
        if (ret_name && json_get_string(e, "name", ret_name) < 0) {
                *why = "a string name is required";
                return -EINVAL;
        }
        return 0;
}

static int load_tokens(struct scenario *s, struct json_object *doc, const char **why) {
        struct json_object *a;

        if (get_array(doc, "tokens", &a, why) < 0)
                return -EINVAL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *t = json_object_array_get_idx(a, i);

                if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0) {
                        *why = "tokens must be non-empty strings";
                        return -EINVAL;
                }
                *(char **) array_append(&s->tokens, &s->n_tokens, sizeof(char *)) =
                        xstrdup(json_object_get_string(t));
        }
        return 0;
}

static int load_projects(struct model *m, struct json_object *doc, const char **why) {
        struct json_object *a;

        if (get_array(doc, "projects", &a, why) < 0)
                return -EINVAL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *p = json_object_array_get_idx(a, i);

                if (!json_object_is_type(p, json_type_int)) {
                        *why = "projects must be integers";
                        return -EINVAL;
                }
                model_add_project(m, json_object_get_int64(p));
        }
        return 0;
}

static int load_deployments(struct model *m, struct json_object *doc, size_t *ret_index, const char **why) {
        struct json_object *a;

        if (get_array(doc, "deployments", &a, why) < 0)
                return -EINVAL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                const char *name;
                int64_t project;

                *ret_index = i;
                if (get_identity(e, &project, &name, why) < 0 || model_put(m, project, name, e, true, 0, why) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int load_fleet(struct model *m, struct json_object *e, const char **why) {
        static const char *const fleet_keys[] = { "project_id", "prefix", "count", "digits", "first", NULL };
        _cleanup_json_ struct json_object *fields = json_object_new_object();
        int64_t project, count, digits = 5, first = 0;
        const char *prefix = "";

        if (get_identity(e, &project, NULL, why) < 0)
                return -EINVAL;
        if (json_get_int64(e, "count", &count) < 0 || count < 0 || count > 10000000) {
                *why = "count must be an integer in 0..10000000";
                return -EINVAL;
        }
        if (json_get_string(e, "prefix", &prefix) == -EINVAL || json_get_int64(e, "digits", &digits) == -EINVAL ||
            json_get_int64(e, "first", &first) == -EINVAL || digits < 1 || digits > 12 || first < 0) {
                *why = "prefix must be a string, digits an integer in 1..12, first an integer >= 0";
                return -EINVAL;
        }
        /* Everything but the fleet's own keys is a deployment field for each member. */
        json_object_object_foreach(e, k, v)
                if (!strv_contains(fleet_keys, k))
                        json_object_object_add(fields, k, json_object_get(v));

        model_add_project(m, project);
        for (int64_t i = first; i < first + count; i++) {
                char name[300];

                snprintf(name, sizeof(name), "%s%0*lld", prefix, (int) digits, (long long) i);
                if (model_put(m, project, name, fields, true, 0, why) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int load_fleets(struct model *m, struct json_object *doc, size_t *ret_index, const char **why) {
        struct json_object *a;

        if (get_array(doc, "fleets", &a, why) < 0)
                return -EINVAL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                *ret_index = i;
                if (load_fleet(m, json_object_array_get_idx(a, i), why) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* Dry run, so that a mistake in a late event is reported at start, not an hour in. */
static int check_event_fields(const struct timeline_event *ev, const char **why) {
        _cleanup_json_ struct json_object *d = NULL;

        if (!deployment_name_valid(ev->name)) {
                *why = "invalid deployment name";
                return -EINVAL;
        }
        if (ev->action == CHANGE_CREATE)
                return deployment_json_new(ev->project_id, ev->name, ev->fields, &d, why);
        if (ev->action == CHANGE_SET) {
                if (deployment_json_new(ev->project_id, ev->name, NULL, &d, why) < 0)
                        return -EINVAL;
                return deployment_json_merge(d, ev->fields, why);
        }
        return 0;
}

static int parse_event(struct json_object *e, struct timeline_event *ret, const char **why) {
        static const char *const known[] = { "at", "project_id", "name", "set", "create", "delete", NULL };
        struct json_object *set = NULL, *create = NULL, *del = NULL;
        const char *name;
        int64_t project;
        double at;

        if (get_identity(e, &project, &name, why) < 0)
                return -EINVAL;
        if (json_get_double(e, "at", &at) < 0 || at < 0) {
                *why = "at must be a number of seconds >= 0";
                return -EINVAL;
        }
        (void) json_object_object_get_ex(e, "set", &set);
        (void) json_object_object_get_ex(e, "create", &create);
        (void) json_object_object_get_ex(e, "delete", &del);
        if (!!set + !!create + !!del != 1) {
                *why = "an event needs exactly one of \"set\", \"create\" or \"delete\"";
                return -EINVAL;
        }
        if (json_unknown_key(e, known)) {
                *why = "unknown key in a timeline event";
                return -EINVAL;
        }
        *ret = (struct timeline_event) { .at = at, .project_id = project, .name = xstrdup(name) };
        if (set) {
                ret->action = CHANGE_SET;
                ret->fields = json_object_get(set);
        } else if (create) {
                ret->action = CHANGE_CREATE;
                ret->fields = json_object_is_type(create, json_type_boolean) ? NULL : json_object_get(create);
        } else
                ret->action = CHANGE_DELETE;
        return check_event_fields(ret, why);
}

static int load_timeline(struct scenario *s, struct json_object *doc, size_t *ret_index, const char **why) {
        struct json_object *a;

        if (get_array(doc, "timeline", &a, why) < 0)
                return -EINVAL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                struct timeline_event *ev = array_append(&s->timeline, &s->n_timeline, sizeof(*s->timeline));

                *ret_index = i;
                if (parse_event(json_object_array_get_idx(a, i), ev, why) < 0)
                        return -EINVAL;
        }
        /* Stable insertion sort: events at the same time keep file order, and the usual
         * already-sorted file costs one pass. */
        for (size_t i = 1; i < s->n_timeline; i++) {
                struct timeline_event ev = s->timeline[i];
                size_t j = i;

                for (; j > 0 && s->timeline[j - 1].at > ev.at; j--)
                        s->timeline[j] = s->timeline[j - 1];
                s->timeline[j] = ev;
        }
        return 0;
}

static int parse_statuses(struct random_changes *rc, struct json_object *e, const char **why) {
        static const char *const defaults[] = { "ACTIVE", "DEPLOYING", "PARTIALLYDEPLOYED" };
        struct json_object *a = NULL;

        (void) json_object_object_get_ex(e, "statuses", &a);
        if (!a) {
                for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                        *(char **) array_append(&rc->statuses, &rc->n_statuses, sizeof(char *)) = xstrdup(defaults[i]);
                return 0;
        }
        if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) == 0) {
                *why = "statuses must be a non-empty array of strings";
                return -EINVAL;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *v = json_object_array_get_idx(a, i);

                if (!json_object_is_type(v, json_type_string)) {
                        *why = "statuses must be a non-empty array of strings";
                        return -EINVAL;
                }
                *(char **) array_append(&rc->statuses, &rc->n_statuses, sizeof(char *)) =
                        xstrdup(json_object_get_string(v));
        }
        return 0;
}

static int parse_random(struct json_object *e, struct random_changes *rc, const char **why) {
        static const char *const known[] = { "project_id", "prefix", "rate", "statuses", "start", "stop", NULL };
        const char *prefix = "";

        if (get_identity(e, &rc->project_id, NULL, why) < 0)
                return -EINVAL;
        if (json_unknown_key(e, known)) {
                *why = "unknown key in random_changes";
                return -EINVAL;
        }
        rc->stop = INFINITY;
        if (json_get_double(e, "rate", &rc->rate) < 0 || rc->rate <= 0 || rc->rate > 1e6) {
                *why = "rate must be a number of changes per second in (0, 1000000]";
                return -EINVAL;
        }
        if (json_get_string(e, "prefix", &prefix) == -EINVAL || json_get_double(e, "start", &rc->start) == -EINVAL ||
            json_get_double(e, "stop", &rc->stop) == -EINVAL) {
                *why = "prefix must be a string, start and stop numbers of seconds";
                return -EINVAL;
        }
        rc->prefix = xstrdup(prefix);
        return parse_statuses(rc, e, why);
}

static int load_random(struct scenario *s, struct json_object *doc, size_t *ret_index, const char **why) {
        struct json_object *v;

        if (!json_object_object_get_ex(doc, "random_changes", &v))
                return 0;
        if (json_object_is_type(v, json_type_object))
                return parse_random(v, array_append(&s->random, &s->n_random, sizeof(*s->random)), why);
        if (!json_object_is_type(v, json_type_array)) {
                *why = "must be an object or an array of objects";
                return -EINVAL;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                *ret_index = i;
                if (parse_random(json_object_array_get_idx(v, i),
                                 array_append(&s->random, &s->n_random, sizeof(*s->random)), why) < 0)
                        return -EINVAL;
        }
        return 0;
}

static struct json_object *parse_file(const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        enum json_tokener_error jerr;
        struct json_object *doc;
        int r;

        r = read_full_file(path, SCENARIO_SIZE_MAX, &text, NULL);
        if (r < 0) {
                *ret_error = xasprintf("%s: %s", path, strerror(-r));
                return NULL;
        }
        doc = json_tokener_parse_verbose(text, &jerr);
        if (!doc || !json_object_is_type(doc, json_type_object)) {
                *ret_error = xasprintf("%s: not a JSON object (%s)", path,
                                       doc ? "wrong type" : json_tokener_error_desc(jerr));
                json_object_put(doc);
                return NULL;
        }
        return doc;
}

static int load_doc(struct scenario *s, struct json_object *doc, struct model *m, char **ret_error) {
        static const char *const known[] = { "tokens", "start_paused", "projects", "deployments", "fleets",
                                             "timeline", "random_changes", "description", "regions",
                                             "capacity", NULL };
        const char *why = NULL, *key = json_unknown_key(doc, known);
        size_t index = 0;

        if (key) {
                *ret_error = xasprintf("unknown key \"%s\"", key);
                return -EINVAL;
        }
        if (json_get_bool(doc, "start_paused", &s->start_paused) == -EINVAL) {
                *ret_error = xasprintf("start_paused must be a boolean");
                return -EINVAL;
        }
#define STEP(what, call)                                                                        \
        do {                                                                                    \
                index = 0;                                                                      \
                if ((call) < 0) {                                                               \
                        *ret_error = xasprintf("%s[%zu]: %s", what, index, why ? why : "invalid"); \
                        return -EINVAL;                                                         \
                }                                                                               \
        } while (0)
        STEP("tokens", load_tokens(s, doc, &why));
        STEP("projects", load_projects(m, doc, &why));
        STEP("deployments", load_deployments(m, doc, &index, &why));
        STEP("fleets", load_fleets(m, doc, &index, &why));
        STEP("timeline", load_timeline(s, doc, &index, &why));
        STEP("random_changes", load_random(s, doc, &index, &why));
        STEP("regions", get_array(doc, "regions", &s->regions, &why));
        STEP("capacity", get_array(doc, "capacity", &s->capacity, &why));
        json_object_get(s->regions);
        json_object_get(s->capacity);
#undef STEP
        return 0;
}

int scenario_load(const char *path, uint64_t seed, struct model *m, struct scenario **ret, char **ret_error) {
        _cleanup_(scenario_freep) struct scenario *s = xcalloc(1, sizeof(*s));
        _cleanup_json_ struct json_object *doc = NULL;
        _cleanup_free_ char *error = NULL;
        int r = 0;

        s->rng = seed;
        if (path) {
                doc = parse_file(path, ret_error);
                if (!doc)
                        return -EINVAL;
                model_set_recording(m, false);
                r = load_doc(s, doc, m, &error);
                model_set_recording(m, true);
                if (r < 0) {
                        *ret_error = xasprintf("%s: %s", path, error);
                        return r;
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static void apply_event(const struct timeline_event *ev, struct model *m, double t) {
        const char *why = "unknown";
        int r;

        if (ev->action == CHANGE_DELETE)
                r = model_delete(m, ev->project_id, ev->name, t);
        else
                r = model_put(m, ev->project_id, ev->name, ev->fields, ev->action == CHANGE_CREATE, t, &why);
        if (r == -ENOENT)
                fprintf(stderr, "timeline at %gs: delete %lld/%s: no such deployment, ignoring\n", ev->at,
                        (long long) ev->project_id, ev->name);
        else if (r < 0)
                fprintf(stderr, "timeline at %gs: %lld/%s: %s, ignoring\n", ev->at, (long long) ev->project_id,
                        ev->name, why);
}

/* A status other than the current one, when the list offers one: a change should change. */
static const char *pick_status(struct scenario *s, const struct random_changes *rc, const char *current) {
        size_t n_other = 0, k;

        for (size_t i = 0; i < rc->n_statuses; i++)
                n_other += !streq_ptr(rc->statuses[i], current);
        if (n_other == 0)
                return rc->statuses[rng_below(&s->rng, rc->n_statuses)];
        k = rng_below(&s->rng, n_other);
        for (size_t i = 0; i < rc->n_statuses; i++)
                if (!streq_ptr(rc->statuses[i], current) && k-- == 0)
                        return rc->statuses[i];
        return rc->statuses[0];
}

static void random_change(struct scenario *s, const struct random_changes *rc, struct model *m, double t) {
        _cleanup_json_ struct json_object *fields = json_object_new_object();
        const struct sim_deployment *d;
        const char *why;
        size_t first, n;

        n = model_prefix_range(m, rc->project_id, rc->prefix, &first);
        if (n == 0)
                return;
        d = model_at(m, rc->project_id, first + rng_below(&s->rng, n));
        json_object_object_add(fields, "status", json_object_new_string(pick_status(s, rc, d->status)));
        (void) model_put(m, rc->project_id, d->name, fields, false, t, &why);
}

static void random_tick(struct scenario *s, struct random_changes *rc, struct model *m, double t) {
        double end = MIN(t, rc->stop);
        uint64_t due;

        if (end <= rc->start)
                return;
        due = (uint64_t) ((end - rc->start) * rc->rate);
        if (due > rc->done + RANDOM_BURST_MAX)
                rc->done = due - RANDOM_BURST_MAX;
        for (; rc->done < due; rc->done++)
                random_change(s, rc, m, t);
}

void scenario_tick(struct scenario *s, struct model *m, double t) {
        while (s->next_event < s->n_timeline && s->timeline[s->next_event].at <= t)
                apply_event(&s->timeline[s->next_event++], m, t);
        for (size_t i = 0; i < s->n_random; i++)
                random_tick(s, &s->random[i], m, t);
}
