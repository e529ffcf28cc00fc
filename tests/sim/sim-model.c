#include "sim.h"

/* Enough for hours of a benchmark's random changes; beyond it the oldest half is dropped. */
#define CHANGES_MAX 1000000

struct project {
        int64_t id;
        struct sim_deployment **items;    /* sorted by name: lookups bisect, pages are slices */
        size_t n_items, n_alloc;
};

struct change {
        double t;
        usec_t realtime;
        int64_t project_id;
        char *name;
        char *status;
        enum change_action action;
};

struct model {
        struct project *projects;         /* sorted by id */
        size_t n_projects;
        struct change *changes;
        size_t n_changes, n_alloc_changes;
        uint64_t first_seq;               /* sequence number of changes[0] */
        bool recording;
};

static const char *const action_names[] = {
        [CHANGE_SET] = "set",
        [CHANGE_CREATE] = "create",
        [CHANGE_DELETE] = "delete",
};

struct model *model_new(void) {
        struct model *m = xcalloc(1, sizeof(*m));

        m->recording = true;
        return m;
}

static struct sim_deployment *sim_deployment_free(struct sim_deployment *d) {
        if (!d)
                return NULL;
        free(d->name);
        free(d->json);
        free(d->status);
        free(d);
        return NULL;
}

static void change_done(struct change *c) {
        free(c->name);
        free(c->status);
}

struct model *model_free(struct model *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_projects; i++) {
                for (size_t j = 0; j < m->projects[i].n_items; j++)
                        sim_deployment_free(m->projects[i].items[j]);
                free(m->projects[i].items);
        }
        free(m->projects);
        for (size_t i = 0; i < m->n_changes; i++)
                change_done(&m->changes[i]);
        free(m->changes);
        free(m);
        return NULL;
}

void model_set_recording(struct model *m, bool on) {
        m->recording = on;
}

/* Index of project_id, or where it would be inserted. */
static size_t project_bisect(const struct model *m, int64_t project_id) {
        size_t lo = 0, hi = m->n_projects;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (m->projects[mid].id < project_id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static struct project *project_find(const struct model *m, int64_t project_id) {
        size_t i = project_bisect(m, project_id);

        return i < m->n_projects && m->projects[i].id == project_id ? &m->projects[i] : NULL;
}

static struct project *project_ensure(struct model *m, int64_t project_id) {
        size_t i = project_bisect(m, project_id);

        if (i < m->n_projects && m->projects[i].id == project_id)
                return &m->projects[i];
        m->projects = xrealloc(m->projects, (m->n_projects + 1) * sizeof(*m->projects));
        memmove(m->projects + i + 1, m->projects + i, (m->n_projects - i) * sizeof(*m->projects));
        m->projects[i] = (struct project) { .id = project_id };
        m->n_projects++;
        return &m->projects[i];
}

void model_add_project(struct model *m, int64_t project_id) {
        (void) project_ensure(m, project_id);
}

bool model_has_project(const struct model *m, int64_t project_id) {
        return project_find(m, project_id) != NULL;
}

/* First index whose name is >= name (strcmp order). */
static size_t item_bisect(const struct project *p, const char *name) {
        size_t lo = 0, hi = p->n_items;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(p->items[mid]->name, name) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool item_find(const struct project *p, const char *name, size_t *ret_index) {
        size_t i = p ? item_bisect(p, name) : 0;

        *ret_index = i;
        return p && i < p->n_items && streq(p->items[i]->name, name);
}

static void item_insert(struct project *p, size_t i, struct sim_deployment *d) {
        if (p->n_items == p->n_alloc) {
                p->n_alloc = p->n_alloc ? p->n_alloc * 2 : 16;
                p->items = xrealloc(p->items, p->n_alloc * sizeof(*p->items));
        }
        memmove(p->items + i + 1, p->items + i, (p->n_items - i) * sizeof(*p->items));
        p->items[i] = d;
        p->n_items++;
}

static void record(struct model *m, double t, int64_t project_id, const char *name, const char *status,
                   enum change_action action) {
        if (!m->recording)
                return;
        if (m->n_changes >= CHANGES_MAX) {
                size_t drop = m->n_changes / 2;

                for (size_t i = 0; i < drop; i++)
                        change_done(&m->changes[i]);
                memmove(m->changes, m->changes + drop, (m->n_changes - drop) * sizeof(*m->changes));
                m->n_changes -= drop;
                m->first_seq += drop;
        }
        if (m->n_changes == m->n_alloc_changes) {
                m->n_alloc_changes = m->n_alloc_changes ? m->n_alloc_changes * 2 : 256;
                m->changes = xrealloc(m->changes, m->n_alloc_changes * sizeof(*m->changes));
        }
        m->changes[m->n_changes++] = (struct change) {
                .t = t,
                .realtime = now_usec(CLOCK_REALTIME),
                .project_id = project_id,
                .name = xstrdup(name),
                .status = xstrdup(status),
                .action = action,
        };
}

static char *status_of(struct json_object *d) {
        struct json_object *s;

        if (!json_object_object_get_ex(d, "status", &s) || !json_object_is_type(s, json_type_string))
                return NULL;
        return xstrdup(json_object_get_string(s));
}

/* The cached JSON is our own output: it always parses back. */
static struct json_object *item_parse(const struct sim_deployment *d) {
        struct json_object *o = json_tokener_parse(d->json);

        if (!o)
                abort();
        return o;
}

int model_put(struct model *m, int64_t project_id, const char *name, struct json_object *fields, bool replace,
              double t, const char **ret_why) {
        _cleanup_json_ struct json_object *d = NULL;
        struct project *p = project_find(m, project_id);
        struct sim_deployment *item;
        bool found, merge;
        size_t i;
        int r;

        if (!deployment_name_valid(name)) {
                *ret_why = "a deployment name must be 1-255 characters without '/' or control characters";
                return -EINVAL;
        }
        found = item_find(p, name, &i);
        merge = found && !replace;
        if (merge) {
                d = item_parse(p->items[i]);
                r = deployment_json_merge(d, fields, ret_why);
        } else
                r = deployment_json_new(project_id, name, fields, &d, ret_why);
        if (r < 0)
                return r;

        if (found)
                item = p->items[i];
        else {
                p = project_ensure(m, project_id);
                item = xcalloc(1, sizeof(*item));
                item->name = xstrdup(name);
                item_insert(p, i, item);
        }
        free(item->json);
        free(item->status);
        item->json = json_render(d, &item->json_len);
        item->status = status_of(d);
        record(m, t, project_id, name, item->status, merge ? CHANGE_SET : CHANGE_CREATE);
        return merge ? 0 : 1;
}

int model_delete(struct model *m, int64_t project_id, const char *name, double t) {
        struct project *p = project_find(m, project_id);
        struct sim_deployment *item;
        size_t i;

        if (!item_find(p, name, &i))
                return -ENOENT;
        item = p->items[i];
        memmove(p->items + i, p->items + i + 1, (p->n_items - i - 1) * sizeof(*p->items));
        p->n_items--;
        record(m, t, project_id, name, item->status, CHANGE_DELETE);
        sim_deployment_free(item);
        return 0;
}

const struct sim_deployment *model_get(const struct model *m, int64_t project_id, const char *name) {
        const struct project *p = project_find(m, project_id);
        size_t i;

        return item_find(p, name, &i) ? p->items[i] : NULL;
}

/* Joins items [from, to) as a JSON array body between head and tail, without re-serializing. */
static char *join_items(struct sim_deployment *const *items, size_t from, size_t to, const char *head,
                        const char *tail, size_t *ret_len) {
        size_t head_len = strlen(head), tail_len = strlen(tail), size = head_len + tail_len + 1;
        char *buf, *p;

        for (size_t i = from; i < to; i++)
                size += items[i]->json_len + 1;
        p = buf = xmalloc(size);
        memcpy(p, head, head_len);
        p += head_len;
        for (size_t i = from; i < to; i++) {
                if (i > from)
                        *p++ = ',';
                memcpy(p, items[i]->json, items[i]->json_len);
                p += items[i]->json_len;
        }
        memcpy(p, tail, tail_len);
        p += tail_len;
        *p = '\0';
        *ret_len = (size_t) (p - buf);
        return buf;
}

int model_page(const struct model *m, int64_t project_id, uint64_t limit, uint64_t offset, char **ret,
               size_t *ret_len) {
        const struct project *p = project_find(m, project_id);
        size_t from, to;
        char head[64];

        if (!p)
                return -ENOENT;
        from = (size_t) MIN(offset, (uint64_t) p->n_items);
        to = from + (size_t) MIN(limit, (uint64_t) (p->n_items - from));
        snprintf(head, sizeof(head), "{\"count\":%zu,\"results\":[", p->n_items);
        *ret = join_items(p->items, from, to, head, "]}", ret_len);
        return 0;
}

char *model_dump(const struct model *m, size_t *ret_len) {
        _cleanup_free_ char *all = xstrdup("[");
        size_t len = 1;

        for (size_t i = 0; i < m->n_projects; i++) {
                const struct project *p = &m->projects[i];
                _cleanup_free_ char *part = NULL;
                size_t part_len;

                if (p->n_items == 0)
                        continue;
                part = join_items(p->items, 0, p->n_items, len > 1 ? "," : "", "", &part_len);
                all = xrealloc(all, len + part_len + 2);
                memcpy(all + len, part, part_len);
                len += part_len;
        }
        all = xrealloc(all, len + 2);
        all[len++] = ']';
        all[len] = '\0';
        *ret_len = len;
        return TAKE_PTR(all);
}

size_t model_prefix_range(const struct model *m, int64_t project_id, const char *prefix, size_t *ret_first) {
        const struct project *p = project_find(m, project_id);
        size_t first, last, n = strlen(prefix);

        if (!p) {
                *ret_first = 0;
                return 0;
        }
        first = item_bisect(p, prefix);
        for (last = first; last < p->n_items && strncmp(p->items[last]->name, prefix, n) == 0; last++)
                ;
        *ret_first = first;
        return last - first;
}

const struct sim_deployment *model_at(const struct model *m, int64_t project_id, size_t i) {
        const struct project *p = project_find(m, project_id);

        return p && i < p->n_items ? p->items[i] : NULL;
}

struct json_object *model_changes_json(const struct model *m, uint64_t since) {
        struct json_object *a = json_object_new_array();
        size_t from = since > m->first_seq ? (size_t) MIN(since - m->first_seq, (uint64_t) m->n_changes) : 0;

        for (size_t i = from; i < m->n_changes; i++) {
                const struct change *c = &m->changes[i];
                struct json_object *o = json_object_new_object();

                json_object_object_add(o, "seq", json_object_new_uint64(m->first_seq + i));
                json_object_object_add(o, "t", json_object_new_double(c->t));
                json_object_object_add(o, "realtime_us", json_object_new_uint64(c->realtime));
                json_object_object_add(o, "project_id", json_object_new_int64(c->project_id));
                json_object_object_add(o, "name", json_object_new_string(c->name));
                json_object_object_add(o, "status", c->status ? json_object_new_string(c->status) : NULL);
                json_object_object_add(o, "action", json_object_new_string(action_names[c->action]));
                json_object_array_add(a, o);
        }
        return a;
}
