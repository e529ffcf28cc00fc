/* state.json: a header line, then one line per watched deployment, each a JSON object written
 * and read by json-c. One small tree at a time keeps a save and a load of 10,000 deployments
 * within a few MiB (a single tree of everything took about 100 MiB). */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdalign.h>
#include <stddef.h>
#include <sys/mman.h>

#include "crashpoint.h"
#include "logtail.h"
#include "state.h"

/* 3 added the outbox lines (an older daemon would take them for deployments); 2 is read too. */
#define STATE_VERSION 3
#define STATE_FILE "state.json"
#define FED_FILE STATE_FILE ".fed"
#define STATE_PREALLOC_MAX (1 << 20)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

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
        if (!s->outbox_borrowed)
                event_list_clear(&s->outbox);
        *s = (struct saved_state) {};
}

char *state_path(const char *dir) {
        return xasprintf("%s/" STATE_FILE, dir);
}

/* ---- writing ---- */

static void add_str(struct json_object *o, const char *k, const char *v) {
        if (v)
                json_object_object_add(o, k, json_object_new_string(v));
}

static void add_int(struct json_object *o, const char *k, int64_t v) {
        json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_bool(struct json_object *o, const char *k, bool v) {
        json_object_object_add(o, k, json_object_new_boolean(v));
}

static struct json_object *deployment_to_json(const struct deployment *d) {
        struct json_object *o = json_object_new_object(), *cs = json_object_new_array();

        add_str(o, "name", d->name);
        add_int(o, "project_id", d->project_id);
        add_str(o, "status", d->status);
        add_str(o, "image", d->image);
        add_str(o, "flavor_name", d->flavor_name);
        add_str(o, "address", d->address);
        add_str(o, "command", d->command);
        add_str(o, "envs_keys", d->envs_keys);
        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                struct json_object *k = json_object_new_object();
                add_int(k, "region_id", c->region_id);
                add_int(k, "ready", c->ready);
                add_int(k, "total", c->total);
                add_str(k, "error_message", c->error_message);
                add_int(k, "scale_min", c->scale_min);
                add_int(k, "scale_max", c->scale_max);
                json_object_array_add(cs, k);
        }
        json_object_object_add(o, "containers", cs);
        return o;
}

static struct json_object *watch_to_json(const struct watch_record *r) {
        const struct watch_state *w = &r->state;
        struct json_object *o = json_object_new_object();
        char id[37];

        add_str(o, "url", r->url);
        add_int(o, "project_id", r->project_id);
        add_str(o, "name", r->name);
        add_str(o, "account", r->account);
        add_str(o, "health", health_to_string(w->health));
        add_bool(o, "gone", w->gone);
        add_int(o, "status_since", (int64_t) w->status_since);
        add_int(o, "unsettled_since", (int64_t) w->unsettled_since);
        add_bool(o, "stuck_reported", w->stuck_reported);
        /* Reported: its deployment.observable is still due after a restart. */
        if (w->unobservable_since)
                add_int(o, "unobservable_since", (int64_t) w->unobservable_since * (int64_t) USEC_PER_SEC);
        add_int(o, "history", w->history);
        add_int(o, "n_history", w->n_history);
        add_str(o, "last_error", r->last_error);
        if (w->snap)
                json_object_object_add(o, "snapshot", deployment_to_json(w->snap));
        if (w->alert) {
                struct json_object *a = json_object_new_object();
                add_str(a, "id", event_id_to_string(w->alert->id, id));
                add_int(a, "started", (int64_t) w->alert->started);
                add_int(a, "last_notified", (int64_t) w->alert->last_notified);
                add_str(a, "severity", w->alert->severity);
                add_str(a, "summary", w->alert->summary);
                add_str(a, "regions", w->alert->regions);
                add_str(a, "log_tail", w->alert->log_tail);
                add_str(a, "log_tail_status", w->alert->log_tail_status);
                add_str(a, "capacity_hint", w->alert->capacity_hint);
                json_object_object_add(o, "alert", a);
        }
        if (w->flap.flapping) {
                /* A flap goes on across a restart (its changes stay at debug, its end is summed
                 * up); the poll history behind the detection starts afresh. */
                struct json_object *f = json_object_new_object();
                add_int(f, "since", (int64_t) w->flap.hist->since);
                add_int(f, "last_change", (int64_t) w->flap.hist->last_change);
                add_int(f, "changes", w->flap.hist->changes);
                add_int(f, "aspects", w->flap.hist->aspects);
                add_int(f, "returns", w->flap.hist->returns);
                json_object_object_add(o, "flap", f);
        }
        return o;
}

static struct json_object *header_to_json(const struct saved_state *s) {
        struct json_object *o = json_object_new_object(), *a;
        char id[37];

        add_int(o, "version", STATE_VERSION);
        add_int(o, "written", (int64_t) s->written);
        add_int(o, "pid", s->pid);
        add_int(o, "deployments", (int64_t) s->n_watches);
        if (!sd_id128_is_null(s->batch))
                add_str(o, "batch", event_id_to_string(s->batch, id));
        add_int(o, "outbox", (int64_t) s->outbox.n);

        a = json_object_new_array();
        for (size_t i = 0; i < s->n_accounts; i++) {
                struct json_object *k = json_object_new_object();
                add_str(k, "url", s->accounts[i].url);
                add_str(k, "name", s->accounts[i].name);
                add_int(k, "failures", s->accounts[i].api.failures);
                add_bool(k, "unreachable", s->accounts[i].api.unreachable);
                add_int(k, "unreachable_since", (int64_t) s->accounts[i].api.unreachable_since);
                json_object_array_add(a, k);
        }
        json_object_object_add(o, "accounts", a);

        a = json_object_new_array();
        for (size_t i = 0; i < s->n_projects; i++) {
                struct json_object *k = json_object_new_object();
                add_str(k, "url", s->projects[i].url);
                add_int(k, "project_id", s->projects[i].project_id);
                add_bool(k, "auth_failed", s->projects[i].auth_failed);
                json_object_array_add(a, k);
        }
        json_object_object_add(o, "projects", a);

        a = json_object_new_array();
        for (size_t i = 0; i < s->n_webhooks; i++) {
                const struct webhook_record *w = &s->webhooks[i];
                struct json_object *k = json_object_new_object();
                add_str(k, "name", w->name);
                add_int(k, "delivered", (int64_t) w->delivered);
                add_int(k, "dropped", (int64_t) w->dropped);
                add_int(k, "retrying", (int64_t) w->retrying);
                add_int(k, "backlog", (int64_t) w->backlog);
                add_bool(k, "disabled", w->disabled);
                add_int(k, "last_attempt", (int64_t) w->last_attempt);
                add_str(k, "last_result", w->last_result);
                json_object_array_add(a, k);
        }
        json_object_object_add(o, "webhooks", a);
        return o;
}

static int put_json(FILE *f, struct json_object *o) {
        int r = fputs(json_object_to_json_string_ext(o, JSON_FLAGS), f) < 0 || fputc('\n', f) < 0 ? -EIO : 0;

        json_object_put(o);
        return r;
}

static int put_watch(const struct watch_record *w, void *userdata) {
        return put_json(userdata, watch_to_json(w));
}

static int write_state(FILE *f, const struct saved_state *s) {
        int r = put_json(f, header_to_json(s));

        if (r >= 0 && s->each_watch)
                r = s->each_watch(s->watch_source, put_watch, f);
        for (size_t i = 0; i < s->n_watches && !s->each_watch && r >= 0; i++)
                r = put_json(f, watch_to_json(&s->watches[i]));
        for (size_t i = 0; i < s->outbox.n && r >= 0; i++) {
                _cleanup_free_ char *json = event_to_json(s->outbox.items[i]);
                r = fputs(json, f) < 0 || fputc('\n', f) < 0 ? -EIO : 0;
        }
        return r;
}

char *state_to_json(const struct saved_state *s) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                abort();
        (void) write_state(f, s);
        if (fclose(f) != 0)
                abort();
        return text;
}

static size_t shard_of(const struct watch_record *r, size_t n) {
        uint64_t h = 14695981039346656037ULL; /* FNV-1a */
        char id[32];

        snprintf(id, sizeof(id), "%" PRId64, r->project_id);
        for (const char *parts[] = { r->url, id, r->name }, **p = parts; p < parts + 3; p++)
                for (const char *c = *p ? *p : ""; ; c++) {
                        h = (h ^ (uint8_t) *c) * 1099511628211ULL;
                        if (!*c)
                                break;
                }
        return (size_t) (h % n);
}

char *state_header_json(const struct saved_state *s) {
        struct json_object *o = header_to_json(s);
        char *text = xstrdup(json_object_to_json_string_ext(o, JSON_FLAGS));

        json_object_put(o);
        return text;
}

char **state_shards_json(const struct saved_state *s, size_t n) {
        FILE **f = xcalloc(n, sizeof(FILE *));
        char **text = xcalloc(n, sizeof(char *));
        size_t *size = xcalloc(n, sizeof(size_t));

        for (size_t i = 0; i < n; i++)
                if (!(f[i] = open_memstream(&text[i], &size[i])))
                        abort();
        for (size_t i = 0; i < s->n_watches; i++)
                (void) put_json(f[shard_of(&s->watches[i], n)], watch_to_json(&s->watches[i]));
        for (size_t i = 0; i < n; i++)
                if (fclose(f[i]) != 0)
                        abort();
        free(f);
        free(size);
        return text;
}

int state_from_shards(const char *header, char *const *shards, size_t n, struct saved_state *ret,
                      const char **ret_why) {
        struct json_object *o = json_tokener_parse(header);
        _cleanup_free_ char *text = NULL;
        size_t lines = 0, size = 0;
        FILE *f;
        int r;

        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                *ret_why = "the header is not a JSON object";
                return -EBADMSG;
        }
        for (size_t i = 0; i < n; i++)
                for (const char *p = shards[i] ? shards[i] : ""; (p = strchr(p, '\n')); p++)
                        lines++;
        json_object_object_add(o, "deployments", json_object_new_int64((int64_t) lines));
        json_object_object_add(o, "outbox", json_object_new_int64(0));
        if (!(f = open_memstream(&text, &size)))
                abort();
        (void) put_json(f, o);
        for (size_t i = 0; i < n; i++)
                fputs(shards[i] ? shards[i] : "", f);
        if (fclose(f) != 0)
                abort();
        r = state_from_json(text, ret, ret_why);
        return r;
}

static int write_state_to(FILE *f, const void *userdata) {
        int r = write_state(f, userdata);

        /* The temporary file is written, not yet renamed over state.json. */
        crashpoint("state");
        return r;
}

int state_save(const char *dir, const struct saved_state *s) {
        _cleanup_free_ char *path = state_path(dir);
        int r = faultpoint("save");

        return r < 0 ? r : write_file_atomic_with(path, 0600, write_state_to, s);
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

static int deployment_from_json(struct json_object *o, struct deployment **ret, const char **ret_why) {
        struct deployment *d;
        struct json_object *cs = get(o, "containers");

        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "the deployment's \"snapshot\" is not an object";
                return -EBADMSG;
        }
        d = xcalloc(1, sizeof(*d));
        d->name = get_str(o, "name");
        d->status = get_str(o, "status");
        if (!d->name || !d->status) {
                *ret_why = "the deployment's \"snapshot\" has no \"name\" or no \"status\" string";
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
        if (json_object_is_type(cs, json_type_array))
                for (size_t i = 0; i < json_object_array_length(cs); i++) {
                        struct json_object *k = json_object_array_get_idx(cs, i);
                        struct container *c = array_append(&d->containers, &d->n_containers, sizeof(*c));
                        c->region_id = get_int(k, "region_id");
                        /* As gcore.c takes them: 0 to INT32_MAX. */
                        c->ready = container_int32(get_int(k, "ready"), 0);
                        c->total = container_int32(get_int(k, "total"), 0);
                        c->error_message = get_str(k, "error_message");
                        c->scale_min = container_int32(get_int(k, "scale_min"), INT32_MIN);
                        c->scale_max = container_int32(get_int(k, "scale_max"), INT32_MIN);
                }
        *ret = d;
        return 0;
}

static int watch_from_json(struct json_object *o, struct watch_record *r, const char **ret_why) {
        struct json_object *snap = get(o, "snapshot"), *a = get(o, "alert"), *f = get(o, "flap");
        struct watch_state *w = &r->state;
        struct flap_history *h;
        _cleanup_free_ char *health = NULL, *id = NULL;
        usec_t unobservable;

        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "a deployment line is not a JSON object";
                return -EBADMSG;
        }
        r->url = get_str(o, "url");
        r->name = get_str(o, "name");
        r->project_id = get_int(o, "project_id");
        if (!r->url || !r->name) {
                *ret_why = "the deployment has no \"url\" or no \"name\" string";
                return -EBADMSG;
        }
        if (r->project_id <= 0) {
                *ret_why = "the deployment's \"project_id\" is missing or not a positive integer";
                return -EBADMSG;
        }
        r->account = get_str(o, "account");
        r->last_error = get_str(o, "last_error");
        health = get_str(o, "health");
        w->health = health_from_string(health);
        w->gone = get_bool(o, "gone");
        w->status_since = get_usec(o, "status_since");
        w->unsettled_since = get_usec(o, "unsettled_since");
        w->stuck_reported = get_bool(o, "stuck_reported");
        unobservable = get_usec(o, "unobservable_since");
        if (unobservable > 0)
                w->unobservable_since =
                        (uint32_t) MAX(MIN(unobservable / USEC_PER_SEC, (usec_t) UINT32_MAX), (usec_t) 1);
        w->history = (uint32_t) get_int(o, "history");
        w->n_history = (uint8_t) MIN(get_int(o, "n_history") < 0 ? 0 : get_int(o, "n_history"), 32);
        if (snap && deployment_from_json(snap, &w->snap, ret_why) < 0)
                return -EBADMSG;
        if (w->snap) {
                /* Stored packed, as a poll stores it. */
                struct deployment *d = w->snap;
                w->snap = deployment_dup(d);
                deployment_free(d);
        }
        if (json_object_is_type(a, json_type_object)) {
                id = get_str(a, "id");
                w->alert = xcalloc(1, sizeof(*w->alert));
                if (!id || sd_id128_from_string(id, &w->alert->id) < 0) {
                        *ret_why = "the deployment's open alert has no valid \"id\"";
                        return -EBADMSG;
                }
                w->alert->open = true;
                w->alert->started = get_usec(a, "started");
                w->alert->last_notified = get_usec(a, "last_notified");
                w->alert->severity = get_str(a, "severity");
                w->alert->summary = get_str(a, "summary");
                w->alert->regions = get_str(a, "regions");
                w->alert->log_tail = get_str(a, "log_tail");
                w->alert->log_tail_status = get_str(a, "log_tail_status");
                w->alert->capacity_hint = get_str(a, "capacity_hint");
                /* Written within the bound: anything longer is not of ours, and not re-posted. */
                if (w->alert->log_tail && strlen(w->alert->log_tail) > LOGTAIL_MAX)
                        w->alert->log_tail = mfree(w->alert->log_tail);
        }
        if (json_object_is_type(f, json_type_object) && (h = flap_state_resume(&w->flap))) {
                h->since = get_usec(f, "since");
                h->last_change = get_usec(f, "last_change");
                h->changes = (unsigned) MAX(get_int(f, "changes"), 0);
                h->aspects = (unsigned) MAX(get_int(f, "aspects"), 0);
                h->returns = (unsigned) MAX(get_int(f, "returns"), 0);
        }
        return 0;
}

static int header_from_json(struct json_object *o, struct saved_state *s, const char **ret_why) {
        _cleanup_free_ char *batch = NULL;
        struct json_object *a;

        if (!json_object_is_type(o, json_type_object)) {
                *ret_why = "the first line is not a JSON object";
                return -EBADMSG;
        }
        if (get_int(o, "version") != STATE_VERSION && get_int(o, "version") != 2) {
                *ret_why = "unknown version";
                return -EBADMSG;
        }
        s->written = get_usec(o, "written");
        s->pid = (pid_t) get_int(o, "pid");
        batch = get_str(o, "batch");
        if (batch && sd_id128_from_string(batch, &s->batch) < 0) {
                *ret_why = "the header's \"batch\" is not an id";
                return -EBADMSG;
        }

        a = get(o, "accounts");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct account_record *ar = array_append(&s->accounts, &s->n_accounts, sizeof(*ar));
                ar->url = get_str(k, "url");
                ar->name = get_str(k, "name");
                ar->api.failures = (unsigned) MAX(get_int(k, "failures"), 0);
                ar->api.unreachable = get_bool(k, "unreachable");
                ar->api.unreachable_since = get_usec(k, "unreachable_since");
                if (!ar->url) {
                        *ret_why = "an account entry is malformed";
                        return -EBADMSG;
                }
        }
        a = get(o, "projects");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct project_record *pr = array_append(&s->projects, &s->n_projects, sizeof(*pr));
                pr->url = get_str(k, "url");
                pr->project_id = get_int(k, "project_id");
                pr->auth_failed = get_bool(k, "auth_failed");
                if (!pr->url) {
                        *ret_why = "a project entry is malformed";
                        return -EBADMSG;
                }
        }
        a = get(o, "webhooks");
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
                struct json_object *k = json_object_array_get_idx(a, i);
                struct webhook_record *w = array_append(&s->webhooks, &s->n_webhooks, sizeof(*w));
                w->name = get_str(k, "name");
                w->delivered = (uint64_t) MAX(get_int(k, "delivered"), 0);
                w->dropped = (uint64_t) MAX(get_int(k, "dropped"), 0);
                w->retrying = (uint64_t) MAX(get_int(k, "retrying"), 0);
                w->backlog = (uint64_t) MAX(get_int(k, "backlog"), 0);
                w->disabled = get_bool(k, "disabled");
                w->last_attempt = get_usec(k, "last_attempt");
                w->last_result = get_str(k, "last_result");
        }
        /* The header says how many deployment lines follow: a file cut short is corrupt. */
        if (get_int(o, "deployments") < 0) {
                *ret_why = "the header's deployment count is negative";
                return -EBADMSG;
        }
        return 0;
}

static struct json_object *parse_line(struct json_tokener *tok, const char *line, size_t len) {
        struct json_object *o;

        json_tokener_reset(tok);
        o = json_tokener_parse_ex(tok, line, (int) len);
        if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) < len) {
                json_object_put(o);
                o = NULL;
        }
        return o;
}

/* A load with a taker (a restart) makes each record in a batch, in a buffer mapped once, while
 * the line's tree lives, and hands the batch to the taker, which makes what stays, once the
 * buffer is full, after the trees are freed: made between a tree's allocations, what stays cut
 * the freed tables into pieces the next trees could not use (100,000 records: 11 MB of the heap
 * left in 208-byte holes). Each line's tree then reuses the last one's chunks, and what stays is
 * made in a heap without the trees' garbage in between. */
#define BATCH_RECORDS 1024
#define BATCH_BYTES (256 * 1024)

struct batch {
        struct watch_record *records; /* [BATCH_RECORDS], the strings and snapshots after them */
        size_t n, used;
        char *bytes;
};

static size_t batch_align(size_t n) {
        return (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
}

static void batch_init(struct batch *b) {
        void *p = mmap(NULL, BATCH_RECORDS * sizeof(*b->records) + BATCH_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED)
                abort();
        *b = (struct batch) { .records = p, .bytes = (char *) p + BATCH_RECORDS * sizeof(*b->records) };
}

static size_t record_size(const struct watch_record *r) {
        const char *strings[] = { r->url, r->name, r->account, r->last_error };
        size_t n = r->state.snap ? batch_align(deployment_packed_size(r->state.snap)) : 0;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                n += strings[i] ? batch_align(strlen(strings[i]) + 1) : 0;
        return n;
}

static bool batch_fits(const struct batch *b, const struct watch_record *r) {
        return b->n < BATCH_RECORDS && b->used + record_size(r) <= BATCH_BYTES;
}

static void *batch_take(struct batch *b, size_t n) {
        void *p = b->bytes + b->used;

        b->used += batch_align(n);
        return p;
}

/* Moves a heap string into the batch. */
static char *batch_string(struct batch *b, char *s) {
        char *copy;

        if (!s)
                return NULL;
        copy = strcpy(batch_take(b, strlen(s) + 1), s);
        free(s);
        return copy;
}

/* Moves *r into the batch (batch_fits() said it fits); its alert and flap stay in the heap (few). */
static void batch_add(struct batch *b, struct watch_record *r) {
        struct watch_record *k = &b->records[b->n++];
        struct deployment *snap = r->state.snap;

        *k = *r;
        k->url = batch_string(b, r->url);
        k->name = batch_string(b, r->name);
        k->account = batch_string(b, r->account);
        k->last_error = batch_string(b, r->last_error);
        if (snap) {
                k->state.snap = deployment_pack_into(snap, batch_take(b, deployment_packed_size(snap)));
                deployment_free(snap);
        }
        *r = (struct watch_record) {};
}

static void give(const struct state_taker *take, struct saved_state *s, struct watch_record *r) {
        if (!take->fn(r, take->userdata))
                *(struct watch_record *) array_append(&s->watches, &s->n_watches, sizeof(*r)) = *r;
}

/* Hands the batch's records to take, in order, each made again in the heap. */
static void batch_flush(struct batch *b, const struct state_taker *take, struct saved_state *s) {
        for (size_t i = 0; i < b->n; i++) {
                struct watch_record *k = &b->records[i], r = *k;
                r.url = xstrdup(k->url);
                r.name = xstrdup(k->name);
                r.account = xstrdup(k->account);
                r.last_error = xstrdup(k->last_error);
                if (k->state.snap) {
                        r.state.snap = deployment_dup(k->state.snap);
                        deployment_done(k->state.snap);
                }
                *k = (struct watch_record) {};
                give(take, s, &r);
        }
        b->n = b->used = 0;
}

/* What a failed load leaves in the batch. */
static void batch_done(struct batch *b) {
        if (!b->records)
                return;
        for (size_t i = 0; i < b->n; i++) {
                struct watch_state *w = &b->records[i].state;
                deployment_done(w->snap);
                w->snap = NULL;
                watch_state_done(w);
        }
        (void) munmap(b->records, BATCH_RECORDS * sizeof(*b->records) + BATCH_BYTES);
        *b = (struct batch) {};
}

/* Lines in order: the header, its "deployments" count of deployments, its "outbox" count of
 * events. *ret_line is the line a failure is about (1 the header). Each deployment record goes
 * to take first, if any (see state_load_each). */
static int read_state(FILE *f, const struct state_taker *take, struct saved_state *ret, const char **ret_why,
                      unsigned *ret_line) {
        struct saved_state s = {};
        _cleanup_free_ char *line = NULL;
        size_t alloc = 0, n_read = 0;
        int64_t expected = -1, outbox = 0;
        /* One tokener for every line, reset between them, rather than one made and freed per
         * line between the records that stay. */
        struct json_tokener *tok = json_tokener_new();
        unsigned lineno = 0;
        struct batch b = {};
        ssize_t n;
        int r = -EBADMSG;

        if (!tok)
                abort();
        if (take)
                batch_init(&b);

        *ret_why = "the file is empty";
        while ((n = getline(&line, &alloc, f)) >= 0) {
                struct json_object *o;
                lineno++;
                *ret_line = lineno;
                if (n > 0 && line[n - 1] == '\n')
                        line[--n] = '\0';
                if (n == 0 || n > INT32_MAX)
                        continue;
                if (expected >= 0 && (int64_t) n_read == expected) {
                        struct event *e;
                        if ((int64_t) s.outbox.n >= outbox) {
                                *ret_why = "the file holds more lines than its header announces";
                                goto finish;
                        }
                        if (event_from_json(line, &e) < 0) {
                                *ret_why = "an outbox event line is not an event";
                                goto finish;
                        }
                        event_list_push(&s.outbox, e);
                        continue;
                }
                o = parse_line(tok, line, (size_t) n);
                if (!o) {
                        *ret_why = expected < 0 ? "the first line is not JSON" : "a deployment line is not JSON";
                        goto finish;
                }
                if (expected < 0) {
                        r = header_from_json(o, &s, ret_why);
                        expected = get_int(o, "deployments");
                        outbox = get_int(o, "outbox");
                        json_object_put(o);
                        if (r < 0)
                                goto finish;
                        /* At the size announced (within reason: a lie only costs address
                         * space), not twice that as geometric growth would; with a taker the
                         * records it declines are few. */
                        if (!take)
                                s.watches = xcalloc(MAX(MIN(expected, (int64_t) STATE_PREALLOC_MAX), 1),
                                                    sizeof(*s.watches));
                        r = -EBADMSG;
                        continue;
                }
                struct watch_record w = {};
                r = watch_from_json(o, &w, ret_why);
                if (r < 0) {
                        json_object_put(o);
                        watch_record_done(&w);
                        goto finish;
                }
                n_read++;
                if (!take)
                        *(struct watch_record *) array_append(&s.watches, &s.n_watches, sizeof(w)) = w;
                else {
                        /* Into the batch before the tree is freed, the batch to take after. */
                        if (!batch_fits(&b, &w)) {
                                json_object_put(o);
                                o = NULL;
                                batch_flush(&b, take, &s);
                        }
                        if (batch_fits(&b, &w))
                                batch_add(&b, &w);
                        else
                                give(take, &s, &w); /* larger than a batch: as it is */
                }
                json_object_put(o);
                if (take && (int64_t) n_read == expected)
                        batch_flush(&b, take, &s);
                r = -EBADMSG;
        }
        if (take)
                batch_flush(&b, take, &s);
        *ret_line = 0;
        if (expected < 0)
                goto finish;
        if ((int64_t) n_read != expected || (int64_t) s.outbox.n != outbox) {
                *ret_why = "the file holds fewer lines than its header announces (cut short)";
                goto finish;
        }
        *ret = s;
        s = (struct saved_state) {};
        r = 0;
finish:
        json_tokener_free(tok);
        batch_done(&b);
        saved_state_done(&s);
        return r;
}

int state_from_json(const char *text, struct saved_state *ret, const char **ret_why) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        unsigned line = 0;
        int r;

        if (!f) {
                *ret_why = "the text is empty";
                return -EBADMSG;
        }
        r = read_state(f, NULL, ret, ret_why, &line);
        fclose(f);
        return r;
}

/* What a crash during a save leaves: state.json.tmp.<pid>, a full copy of the state each. */
static void remove_temporary_files(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, STATE_FILE ".tmp.", strlen(STATE_FILE ".tmp.")) == 0)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

/* The batch state.json.fed names; null when there is none or it is unreadable (the outbox is
 * then fed again: a repeat with the same ids, never a loss). */
static sd_id128_t read_fed(const char *dir) {
        _cleanup_free_ char *path = xasprintf("%s/" FED_FILE, dir), *text = NULL;
        sd_id128_t batch;

        if (read_full_file(path, 64, &text, NULL) < 0 || sd_id128_from_string(text, &batch) < 0)
                return SD_ID128_NULL;
        return batch;
}

int state_save_fed(const char *dir, sd_id128_t batch) {
        _cleanup_free_ char *path = xasprintf("%s/" FED_FILE, dir);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        char id[37], text[40];
        int n = snprintf(text, sizeof(text), "%s\n", event_id_to_string(batch, id));

        if (fd < 0)
                return -errno;
        return write(fd, text, (size_t) n) == n ? 0 : -EIO;
}

int state_load_each(const char *dir, const struct state_taker *take, struct saved_state *ret, char **ret_moved_to,
                    char **ret_why) {
        _cleanup_free_ char *path = state_path(dir);
        const char *why = NULL;
        unsigned line = 0;
        char stamp[32];
        FILE *f;
        int r;

        *ret = (struct saved_state) {};
        remove_temporary_files(dir);
        f = fopen(path, "re");
        if (!f && errno == ENOENT)
                return 0;
        if (f) {
                r = read_state(f, take, ret, &why, &line);
                fclose(f);
                if (r >= 0) {
                        /* Batch ids are random: equal ids are the same commit, whatever happened
                         * to either file since (a restored backup, another state directory). */
                        if (!sd_id128_is_null(ret->batch) && sd_id128_equal(read_fed(dir), ret->batch))
                                event_list_clear(&ret->outbox);
                        return 0;
                }
                if (ret_why)
                        *ret_why = line > 0 ? xasprintf("%s:%u: %s", path, line, why) : xasprintf("%s: %s", path, why);
        } else {
                r = -errno;
                if (ret_why)
                        *ret_why = xasprintf("%s: %s", path, strerror(-r));
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

int state_load(const char *dir, struct saved_state *ret, char **ret_moved_to, char **ret_why) {
        return state_load_each(dir, NULL, ret, ret_moved_to, ret_why);
}
