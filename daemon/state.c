#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonscan.h"
#include "state.h"

#define STATE_VERSION 1
#define STATE_FILE "state.json"
/* Far above what 10,000 deployments need (about 4 MiB). */
#define STATE_MAX_SIZE (256U * 1024 * 1024)

void watch_record_done(struct watch_record *r) {
        free(r->url);
        free(r->name);
        free(r->account);
        free(r->last_error);
        watch_state_done(&r->state);
        *r = (struct watch_record) {};
}

void saved_state_done(struct saved_state *s) {
        for (size_t i = 0; i < s->n_watches && !s->watches_borrowed; i++)
                watch_record_done(&s->watches[i]);
        free(s->watches);
        for (size_t i = 0; i < s->n_accounts; i++) {
                free(s->accounts[i].url);
                free(s->accounts[i].name);
        }
        free(s->accounts);
        for (size_t i = 0; i < s->n_projects; i++)
                free(s->projects[i].url);
        free(s->projects);
        for (size_t i = 0; i < s->n_webhooks; i++) {
                free(s->webhooks[i].name);
                free(s->webhooks[i].last_result);
        }
        free(s->webhooks);
        *s = (struct saved_state) {};
}

char *state_path(const char *dir) {
        return xasprintf("%s/" STATE_FILE, dir);
}

/* ---- writing ----
 *
 * The state is written straight to its file as it is serialized, not built as a json-c tree
 * first: with 10,000 deployments the tree took about 1.5 s of CPU and 100 MiB at every save.
 * The text is what json-c would print (JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE), which
 * test-state checks; state_from_json reads it back with json-c. */

#define WRITER_CHUNK (64 * 1024)

struct writer {
        char *buf;
        size_t n, alloc;
        int fd;                   /* full chunks go there; -1: everything stays in buf */
        int error;                /* the first write error, a negative errno */
};

static void writer_flush(struct writer *w) {
        const char *p = w->buf;

        while (w->fd >= 0 && w->n > 0 && w->error == 0) {
                ssize_t k = write(w->fd, p, w->n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        w->error = -errno;
                        break;
                }
                p += k;
                w->n -= (size_t) k;
        }
        w->n = 0;
}

static void put(struct writer *w, const char *s, size_t l) {
        if (w->n + l > w->alloc && w->fd >= 0)
                writer_flush(w);
        if (w->n + l > w->alloc) {
                w->alloc = MAX(MAX(w->alloc * 2, w->n + l), (size_t) WRITER_CHUNK);
                w->buf = xrealloc(w->buf, w->alloc);
        }
        memcpy(w->buf + w->n, s, l);
        w->n += l;
}

/* A string literal (sizeof gives its length: never a pointer). */
#define PUT(w, literal) put(w, "" literal, sizeof(literal) - 1)

/* A JSON string, escaped as json-c escapes it. */
static void put_string(struct writer *w, const char *s) {
        static const char hex[] = "0123456789abcdef";

        PUT(w, "\"");
        for (;;) {
                const char *run = s;
                unsigned char c;
                char e[6] = { '\\', 'u', '0', '0' };
                size_t l = 2;

                while ((unsigned char) *s >= 0x20 && *s != '"' && *s != '\\')
                        s++;
                put(w, run, (size_t) (s - run));
                if (*s == '\0')
                        break;
                c = (unsigned char) *s++;
                switch (c) {
                case '"': e[1] = '"'; break;
                case '\\': e[1] = '\\'; break;
                case '\b': e[1] = 'b'; break;
                case '\t': e[1] = 't'; break;
                case '\n': e[1] = 'n'; break;
                case '\f': e[1] = 'f'; break;
                case '\r': e[1] = 'r'; break;
                default:
                        e[4] = hex[c >> 4];
                        e[5] = hex[c & 15];
                        l = 6;
                }
                put(w, e, l);
        }
        PUT(w, "\"");
}

/* Members: the first of an object is written with first = true (no comma before it). */
static void put_key(struct writer *w, bool *first, const char *k) {
        if (!*first)
                PUT(w, ",");
        *first = false;
        put_string(w, k);
        PUT(w, ":");
}

static void add_str(struct writer *w, bool *first, const char *k, const char *v) {
        if (!v)
                return;
        put_key(w, first, k);
        put_string(w, v);
}

static void add_int(struct writer *w, bool *first, const char *k, int64_t v) {
        char b[24], *p = b + sizeof(b);
        uint64_t u = v < 0 ? -(uint64_t) v : (uint64_t) v;

        put_key(w, first, k);
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        put(w, p, (size_t) (b + sizeof(b) - p));
}

static void add_bool(struct writer *w, bool *first, const char *k, bool v) {
        put_key(w, first, k);
        if (v)
                PUT(w, "true");
        else
                PUT(w, "false");
}

static void put_deployment(struct writer *w, const struct deployment *d) {
        bool first = true;

        PUT(w, "{");
        add_str(w, &first, "name", d->name);
        add_int(w, &first, "project_id", d->project_id);
        add_str(w, &first, "status", d->status);
        add_str(w, &first, "image", d->image);
        add_str(w, &first, "flavor_name", d->flavor_name);
        add_str(w, &first, "address", d->address);
        add_str(w, &first, "command", d->command);
        add_str(w, &first, "envs_keys", d->envs_keys);
        add_str(w, &first, "description", d->description);
        add_str(w, &first, "created_at", d->created_at);
        put_key(w, &first, "containers");
        PUT(w, "[");
        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                bool f = true;
                if (i > 0)
                        PUT(w, ",");
                PUT(w, "{");
                add_int(w, &f, "region_id", c->region_id);
                add_int(w, &f, "ready", c->ready);
                add_int(w, &f, "total", c->total);
                add_str(w, &f, "error_message", c->error_message);
                add_str(w, &f, "address", c->address);
                add_int(w, &f, "scale_min", c->scale_min);
                add_int(w, &f, "scale_max", c->scale_max);
                PUT(w, "}");
        }
        PUT(w, "]}");
}

static void put_watch(struct writer *w, const struct watch_record *r) {
        const struct watch_state *s = &r->state;
        bool first = true;
        char id[37];

        PUT(w, "{");
        add_str(w, &first, "url", r->url);
        add_int(w, &first, "project_id", r->project_id);
        add_str(w, &first, "name", r->name);
        add_str(w, &first, "account", r->account);
        add_str(w, &first, "health", health_to_string(s->health));
        add_bool(w, &first, "gone", s->gone);
        add_int(w, &first, "status_since", (int64_t) s->status_since);
        add_int(w, &first, "unsettled_since", (int64_t) s->unsettled_since);
        add_bool(w, &first, "stuck_reported", s->stuck_reported);
        add_int(w, &first, "history", s->history);
        add_int(w, &first, "n_history", s->n_history);
        add_int(w, &first, "last_poll", (int64_t) r->last_poll);
        add_str(w, &first, "last_error", r->last_error);
        if (s->snap) {
                put_key(w, &first, "snapshot");
                put_deployment(w, s->snap);
        }
        if (s->alert.open) {
                bool f = true;
                put_key(w, &first, "alert");
                PUT(w, "{");
                add_str(w, &f, "id", event_id_to_string(s->alert.id, id));
                add_int(w, &f, "started", (int64_t) s->alert.started);
                add_int(w, &f, "last_notified", (int64_t) s->alert.last_notified);
                add_str(w, &f, "severity", s->alert.severity);
                add_str(w, &f, "summary", s->alert.summary);
                add_str(w, &f, "regions", s->alert.regions);
                PUT(w, "}");
        }
        PUT(w, "}");
}

static void put_state(struct writer *w, const struct saved_state *s) {
        bool first = true;

        PUT(w, "{");
        add_int(w, &first, "version", STATE_VERSION);
        add_int(w, &first, "written", (int64_t) s->written);
        add_int(w, &first, "pid", s->pid);

        put_key(w, &first, "deployments");
        PUT(w, "[");
        for (size_t i = 0; i < s->n_watches; i++) {
                if (i > 0)
                        PUT(w, ",");
                put_watch(w, &s->watches[i]);
        }
        PUT(w, "]");

        put_key(w, &first, "accounts");
        PUT(w, "[");
        for (size_t i = 0; i < s->n_accounts; i++) {
                bool f = true;
                if (i > 0)
                        PUT(w, ",");
                PUT(w, "{");
                add_str(w, &f, "url", s->accounts[i].url);
                add_str(w, &f, "name", s->accounts[i].name);
                add_int(w, &f, "failures", s->accounts[i].api.failures);
                add_bool(w, &f, "unreachable", s->accounts[i].api.unreachable);
                add_int(w, &f, "unreachable_since", (int64_t) s->accounts[i].api.unreachable_since);
                PUT(w, "}");
        }
        PUT(w, "]");

        put_key(w, &first, "projects");
        PUT(w, "[");
        for (size_t i = 0; i < s->n_projects; i++) {
                bool f = true;
                if (i > 0)
                        PUT(w, ",");
                PUT(w, "{");
                add_str(w, &f, "url", s->projects[i].url);
                add_int(w, &f, "project_id", s->projects[i].project_id);
                add_bool(w, &f, "auth_failed", s->projects[i].auth_failed);
                PUT(w, "}");
        }
        PUT(w, "]");

        put_key(w, &first, "webhooks");
        PUT(w, "[");
        for (size_t i = 0; i < s->n_webhooks; i++) {
                const struct webhook_record *h = &s->webhooks[i];
                bool f = true;
                if (i > 0)
                        PUT(w, ",");
                PUT(w, "{");
                add_str(w, &f, "name", h->name);
                add_int(w, &f, "delivered", (int64_t) h->delivered);
                add_int(w, &f, "dropped", (int64_t) h->dropped);
                add_int(w, &f, "retrying", (int64_t) h->retrying);
                add_int(w, &f, "backlog", (int64_t) h->backlog);
                add_bool(w, &f, "disabled", h->disabled);
                add_int(w, &f, "last_attempt", (int64_t) h->last_attempt);
                add_str(w, &f, "last_result", h->last_result);
                PUT(w, "}");
        }
        PUT(w, "]}");
}

char *state_to_json(const struct saved_state *s) {
        struct writer w = { .fd = -1 };

        put_state(&w, s);
        put(&w, "", 1);
        return w.buf;
}

/* ---- reading: types are checked, a missing member takes its zero value ---- */

static struct json_object *get(struct json_object *o, const char *k) {
        struct json_object *v;

        return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static char *get_str(struct json_object *o, const char *k) {
        struct json_object *v = get(o, k);

        return json_object_is_type(v, json_type_string) ? xstrdup(json_object_get_string(v)) : NULL;
}

static int64_t get_int(struct json_object *o, const char *k) {
        struct json_object *v = get(o, k);

        return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

static bool get_bool(struct json_object *o, const char *k) {
        struct json_object *v = get(o, k);

        return json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static usec_t get_usec(struct json_object *o, const char *k) {
        int64_t v = get_int(o, k);

        return v > 0 ? (usec_t) v : 0;
}

static int deployment_from_json(struct json_object *o, struct deployment **ret) {
        struct deployment *d;
        struct json_object *cs = get(o, "containers");

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        d = xcalloc(1, sizeof(*d));
        d->name = get_str(o, "name");
        d->status = get_str(o, "status");
        if (!d->name || !d->status) {
                deployment_free(d);
                return -EBADMSG;
        }
        d->status_enum = deploy_status_from_string(d->status);
        d->project_id = get_int(o, "project_id");
        d->image = get_str(o, "image");
        d->flavor_name = get_str(o, "flavor_name");
        d->address = get_str(o, "address");
        d->command = get_str(o, "command");
        d->envs_keys = get_str(o, "envs_keys");
        d->description = get_str(o, "description");
        d->created_at = get_str(o, "created_at");
        if (json_object_is_type(cs, json_type_array))
                for (size_t i = 0; i < json_object_array_length(cs); i++) {
                        struct json_object *k = json_object_array_get_idx(cs, i);
                        struct container *c = array_append(&d->containers, &d->n_containers, sizeof(*c));
                        c->region_id = get_int(k, "region_id");
                        c->ready = get_int(k, "ready");
                        c->total = get_int(k, "total");
                        c->error_message = get_str(k, "error_message");
                        c->address = get_str(k, "address");
                        c->scale_min = get_int(k, "scale_min");
                        c->scale_max = get_int(k, "scale_max");
                }
        *ret = d;
        return 0;
}

static int watch_from_json(struct json_object *o, struct watch_record *r) {
        struct json_object *snap = get(o, "snapshot"), *a = get(o, "alert");
        struct watch_state *w = &r->state;
        _cleanup_free_ char *health = NULL, *id = NULL;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r->url = get_str(o, "url");
        r->name = get_str(o, "name");
        r->project_id = get_int(o, "project_id");
        if (!r->url || !r->name || r->project_id <= 0)
                return -EBADMSG;
        r->account = get_str(o, "account");
        r->last_poll = get_usec(o, "last_poll");
        r->last_error = get_str(o, "last_error");
        health = get_str(o, "health");
        w->health = health_from_string(health);
        w->gone = get_bool(o, "gone");
        w->status_since = get_usec(o, "status_since");
        w->unsettled_since = get_usec(o, "unsettled_since");
        w->stuck_reported = get_bool(o, "stuck_reported");
        w->history = (uint32_t) get_int(o, "history");
        w->n_history = (uint8_t) MIN(get_int(o, "n_history") < 0 ? 0 : get_int(o, "n_history"), 32);
        if (snap && deployment_from_json(snap, &w->snap) < 0)
                return -EBADMSG;
        if (json_object_is_type(a, json_type_object)) {
                id = get_str(a, "id");
                if (!id || sd_id128_from_string(id, &w->alert.id) < 0)
                        return -EBADMSG;
                w->alert.open = true;
                w->alert.started = get_usec(a, "started");
                w->alert.last_notified = get_usec(a, "last_notified");
                w->alert.severity = get_str(a, "severity");
                w->alert.summary = get_str(a, "summary");
                w->alert.regions = get_str(a, "regions");
        }
        return 0;
}

int state_from_json_jsonc(const char *text, struct saved_state *ret, const char **ret_why) {
        struct json_object *o = json_tokener_parse(text), *a;
        struct saved_state s = {};
        int r = -EBADMSG;

        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "not a JSON object";
                goto finish;
        }
        if (get_int(o, "version") != STATE_VERSION) {
                *ret_why = "unknown version";
                goto finish;
        }
        s.written = get_usec(o, "written");
        s.pid = (pid_t) get_int(o, "pid");

        a = get(o, "deployments");
        if (!json_object_is_type(a, json_type_array)) {
                *ret_why = "no \"deployments\" array";
                goto finish;
        }
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct watch_record *w = array_append(&s.watches, &s.n_watches, sizeof(*w));
                if (watch_from_json(json_object_array_get_idx(a, i), w) < 0) {
                        *ret_why = "a deployment entry is malformed";
                        goto finish;
                }
        }
        a = get(o, "accounts");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct account_record *ar = array_append(&s.accounts, &s.n_accounts, sizeof(*ar));
                ar->url = get_str(k, "url");
                ar->name = get_str(k, "name");
                ar->api.failures = (unsigned) MAX(get_int(k, "failures"), 0);
                ar->api.unreachable = get_bool(k, "unreachable");
                ar->api.unreachable_since = get_usec(k, "unreachable_since");
                if (!ar->url) {
                        *ret_why = "an account entry is malformed";
                        goto finish;
                }
        }
        a = get(o, "projects");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct project_record *pr = array_append(&s.projects, &s.n_projects, sizeof(*pr));
                pr->url = get_str(k, "url");
                pr->project_id = get_int(k, "project_id");
                pr->auth_failed = get_bool(k, "auth_failed");
                if (!pr->url) {
                        *ret_why = "a project entry is malformed";
                        goto finish;
                }
        }
        a = get(o, "webhooks");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct webhook_record *w = array_append(&s.webhooks, &s.n_webhooks, sizeof(*w));
                w->name = get_str(k, "name");
                w->delivered = (uint64_t) MAX(get_int(k, "delivered"), 0);
                w->dropped = (uint64_t) MAX(get_int(k, "dropped"), 0);
                w->retrying = (uint64_t) MAX(get_int(k, "retrying"), 0);
                w->backlog = (uint64_t) MAX(get_int(k, "backlog"), 0);
                w->disabled = get_bool(k, "disabled");
                w->last_attempt = get_usec(k, "last_attempt");
                w->last_result = get_str(k, "last_result");
        }
        *ret = s;
        s = (struct saved_state) {};
        r = 0;
finish:
        saved_state_done(&s);
        json_object_put(o);
        return r;
}

/* ---- reading without json-c's tree ----
 *
 * json-c's tree of a 10,000-deployment state (8 MB of text) takes about 90 MiB, which glibc
 * then keeps: a daemon restarted with such a state stayed at 90 MiB. The same reading is done
 * from jsonscan's tokens (jsonscan.h), one deployment at a time: the whole text is checked
 * with one token per deployment, then each deployment's text is parsed on its own. A state
 * outside jsonscan's subset (a \u escape from a control character, an 19-digit number), or one
 * that this reader finds malformed, is read by the json-c functions above, which give the
 * verdict. Each function mirrors the one of the same name without the "t_" prefix. */

/* A member's value, JSCAN_NONE when absent or null (as json-c's get() gives NULL for both). */
static size_t t_get(const struct jscan *j, size_t o, const char *k) {
        size_t v = jscan_member(j, o, k);

        return jscan_is(j, v, JSCAN_NULL) ? JSCAN_NONE : v;
}

static char *t_get_str(const struct jscan *j, size_t o, const char *k) {
        size_t v = t_get(j, o, k);

        return jscan_is(j, v, JSCAN_STRING) ? jscan_string(j, v, NULL) : NULL;
}

static int64_t t_get_int(const struct jscan *j, size_t o, const char *k) {
        size_t v = t_get(j, o, k);
        int64_t i;
        double d;

        /* json-c's json_type_int only: a number with a fraction reads as 0. */
        return jscan_is(j, v, JSCAN_NUMBER) && jscan_number(j, v, &i, &d) ? i : 0;
}

static bool t_get_bool(const struct jscan *j, size_t o, const char *k) {
        return jscan_is(j, t_get(j, o, k), JSCAN_TRUE);
}

static usec_t t_get_usec(const struct jscan *j, size_t o, const char *k) {
        int64_t v = t_get_int(j, o, k);

        return v > 0 ? (usec_t) v : 0;
}

static int t_deployment(const struct jscan *j, size_t o, struct deployment **ret) {
        size_t cs = t_get(j, o, "containers");
        struct deployment *d;

        if (!jscan_is(j, o, JSCAN_OBJECT))
                return -EBADMSG;
        d = xcalloc(1, sizeof(*d));
        d->name = t_get_str(j, o, "name");
        d->status = t_get_str(j, o, "status");
        if (!d->name || !d->status) {
                deployment_free(d);
                return -EBADMSG;
        }
        d->status_enum = deploy_status_from_string(d->status);
        d->project_id = t_get_int(j, o, "project_id");
        d->image = t_get_str(j, o, "image");
        d->flavor_name = t_get_str(j, o, "flavor_name");
        d->address = t_get_str(j, o, "address");
        d->command = t_get_str(j, o, "command");
        d->envs_keys = t_get_str(j, o, "envs_keys");
        d->description = t_get_str(j, o, "description");
        d->created_at = t_get_str(j, o, "created_at");
        if (jscan_is(j, cs, JSCAN_ARRAY))
                for (size_t k = jscan_first(j, cs); k != JSCAN_NONE && k < jscan_next(j, cs); k = jscan_next(j, k)) {
                        struct container *c = array_append(&d->containers, &d->n_containers, sizeof(*c));
                        c->region_id = t_get_int(j, k, "region_id");
                        c->ready = t_get_int(j, k, "ready");
                        c->total = t_get_int(j, k, "total");
                        c->error_message = t_get_str(j, k, "error_message");
                        c->address = t_get_str(j, k, "address");
                        c->scale_min = t_get_int(j, k, "scale_min");
                        c->scale_max = t_get_int(j, k, "scale_max");
                }
        *ret = d;
        return 0;
}

static int t_watch(const struct jscan *j, size_t o, struct watch_record *r) {
        size_t snap = t_get(j, o, "snapshot"), a = t_get(j, o, "alert");
        struct watch_state *w = &r->state;
        _cleanup_free_ char *health = NULL, *id = NULL;

        if (!jscan_is(j, o, JSCAN_OBJECT))
                return -EBADMSG;
        r->url = t_get_str(j, o, "url");
        r->name = t_get_str(j, o, "name");
        r->project_id = t_get_int(j, o, "project_id");
        if (!r->url || !r->name || r->project_id <= 0)
                return -EBADMSG;
        r->account = t_get_str(j, o, "account");
        r->last_poll = t_get_usec(j, o, "last_poll");
        r->last_error = t_get_str(j, o, "last_error");
        health = t_get_str(j, o, "health");
        w->health = health_from_string(health);
        w->gone = t_get_bool(j, o, "gone");
        w->status_since = t_get_usec(j, o, "status_since");
        w->unsettled_since = t_get_usec(j, o, "unsettled_since");
        w->stuck_reported = t_get_bool(j, o, "stuck_reported");
        w->history = (uint32_t) t_get_int(j, o, "history");
        w->n_history = (uint8_t) MIN(t_get_int(j, o, "n_history") < 0 ? 0 : t_get_int(j, o, "n_history"), 32);
        if (snap != JSCAN_NONE && t_deployment(j, snap, &w->snap) < 0)
                return -EBADMSG;
        if (jscan_is(j, a, JSCAN_OBJECT)) {
                id = t_get_str(j, a, "id");
                if (!id || sd_id128_from_string(id, &w->alert.id) < 0)
                        return -EBADMSG;
                w->alert.open = true;
                w->alert.started = t_get_usec(j, a, "started");
                w->alert.last_notified = t_get_usec(j, a, "last_notified");
                w->alert.severity = t_get_str(j, a, "severity");
                w->alert.summary = t_get_str(j, a, "summary");
                w->alert.regions = t_get_str(j, a, "regions");
        }
        return 0;
}

static void t_account(const struct jscan *j, size_t k, struct account_record *ar) {
        ar->url = t_get_str(j, k, "url");
        ar->name = t_get_str(j, k, "name");
        ar->api.failures = (unsigned) MAX(t_get_int(j, k, "failures"), 0);
        ar->api.unreachable = t_get_bool(j, k, "unreachable");
        ar->api.unreachable_since = t_get_usec(j, k, "unreachable_since");
}

static void t_project(const struct jscan *j, size_t k, struct project_record *pr) {
        pr->url = t_get_str(j, k, "url");
        pr->project_id = t_get_int(j, k, "project_id");
        pr->auth_failed = t_get_bool(j, k, "auth_failed");
}

static void t_webhook(const struct jscan *j, size_t k, struct webhook_record *w) {
        w->name = t_get_str(j, k, "name");
        w->delivered = (uint64_t) MAX(t_get_int(j, k, "delivered"), 0);
        w->dropped = (uint64_t) MAX(t_get_int(j, k, "dropped"), 0);
        w->retrying = (uint64_t) MAX(t_get_int(j, k, "retrying"), 0);
        w->backlog = (uint64_t) MAX(t_get_int(j, k, "backlog"), 0);
        w->disabled = t_get_bool(j, k, "disabled");
        w->last_attempt = t_get_usec(j, k, "last_attempt");
        w->last_result = t_get_str(j, k, "last_result");
}

enum { LIST_WATCHES, LIST_ACCOUNTS, LIST_PROJECTS, LIST_WEBHOOKS };

/* Reads the elements of one top-level array, each parsed on its own; -EBADMSG as soon as one
 * is unusable (or outside jsonscan's subset). */
static int t_list(const struct jscan *top, const char *key, int kind, struct saved_state *s) {
        size_t a = t_get(top, 0, key);
        struct jscan item = {};
        int r = 0;

        if (!jscan_is(top, a, JSCAN_ARRAY))
                return kind == LIST_WATCHES ? -EBADMSG : 0;
        for (size_t e = jscan_first(top, a); r >= 0 && e != JSCAN_NONE && e < jscan_next(top, a);
             e = jscan_next(top, e)) {
                const char *text;
                size_t size;

                jscan_span(top, e, &text, &size);
                if (jscan_is(top, e, JSCAN_STRING))
                        text--, size += 2; /* the quotes: still not an object, as the reader says */
                r = jscan_parse(&item, text, size);
                if (r < 0)
                        break;
                switch (kind) {
                case LIST_WATCHES:
                        r = t_watch(&item, 0, array_append(&s->watches, &s->n_watches, sizeof(struct watch_record)));
                        break;
                case LIST_ACCOUNTS: {
                        struct account_record *ar = array_append(&s->accounts, &s->n_accounts, sizeof(*ar));
                        t_account(&item, 0, ar);
                        r = ar->url ? 0 : -EBADMSG;
                        break;
                }
                case LIST_PROJECTS: {
                        struct project_record *pr = array_append(&s->projects, &s->n_projects, sizeof(*pr));
                        t_project(&item, 0, pr);
                        r = pr->url ? 0 : -EBADMSG;
                        break;
                }
                default:
                        t_webhook(&item, 0, array_append(&s->webhooks, &s->n_webhooks, sizeof(struct webhook_record)));
                }
        }
        jscan_done(&item);
        return r;
}

/* 0 and *ret, or -EBADMSG: then the json-c reader decides (and says why). */
static int state_from_tokens(const char *text, struct saved_state *ret) {
        struct saved_state s = {};
        struct jscan top = {};
        int r;

        /* Tokens for the top object, its members and their elements: one per deployment. */
        r = jscan_parse_shallow(&top, text, strlen(text), 3);
        if (r >= 0 && (!jscan_is(&top, 0, JSCAN_OBJECT) || t_get_int(&top, 0, "version") != STATE_VERSION))
                r = -EBADMSG;
        if (r >= 0) {
                s.written = t_get_usec(&top, 0, "written");
                s.pid = (pid_t) t_get_int(&top, 0, "pid");
                r = t_list(&top, "deployments", LIST_WATCHES, &s);
        }
        if (r >= 0)
                r = t_list(&top, "accounts", LIST_ACCOUNTS, &s);
        if (r >= 0)
                r = t_list(&top, "projects", LIST_PROJECTS, &s);
        if (r >= 0)
                r = t_list(&top, "webhooks", LIST_WEBHOOKS, &s);
        jscan_done(&top);
        if (r >= 0) {
                *ret = s;
                return 0;
        }
        saved_state_done(&s);
        return r;
}

int state_from_json(const char *text, struct saved_state *ret, const char **ret_why) {
        if (state_from_tokens(text, ret) >= 0)
                return 0;
        return state_from_json_jsonc(text, ret, ret_why);
}

int state_load(const char *dir, struct saved_state *ret, char **ret_moved_to) {
        _cleanup_free_ char *path = state_path(dir), *text = NULL;
        const char *why = NULL;
        char stamp[32];
        int r;

        *ret = (struct saved_state) {};
        r = read_full_file(path, STATE_MAX_SIZE, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r >= 0) {
                r = state_from_json(text, ret, &why);
                if (r >= 0)
                        return 0;
        }
        /* Never fatal: keep the evidence next to it and start afresh. */
        char *moved = xasprintf("%s.corrupt-%s", path, format_rfc3339(stamp, now_usec(CLOCK_REALTIME)));
        if (rename(path, moved) < 0) {
                free(moved);
                moved = NULL;
        }
        if (ret_moved_to)
                *ret_moved_to = moved;
        else
                free(moved);
        return r;
}

/* Like write_file_atomic(), but the text is streamed into the temporary file in chunks: a
 * 10,000-deployment state never sits in memory as one 8 MB string. */
int state_save(const char *dir, const struct saved_state *s) {
        _cleanup_free_ char *path = state_path(dir);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%ld", path, (long) getpid());
        _cleanup_close_ int dfd = -1;
        struct writer w = { .fd = -1 };
        int r = 0;

        w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (w.fd < 0)
                return -errno;
        w.buf = xmalloc(WRITER_CHUNK);
        w.alloc = WRITER_CHUNK;
        put_state(&w, s);
        writer_flush(&w);
        free(w.buf);
        r = w.error;
        if (r == 0 && fsync(w.fd) < 0)
                r = -errno;
        if (close(w.fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}
