#include <json-c/json.h>

#include "context.h"
#include "gcore.h"
#include "log.h"
#include "logtail.h"
#include "poll.h"
#include "region.h"

#define REGIONS_RETRY_MIN (2 * USEC_PER_SEC)
#define REGIONS_RETRY_MAX (10 * USEC_PER_MINUTE)
/* An id missing from a directory older than this makes it be fetched again (a new region). */
#define REGIONS_UNKNOWN_REFETCH (10 * USEC_PER_MINUTE)
/* Tails kept for reuse; the oldest go first beyond this. (The re-posts to Alertmanager repeat
 * the tail kept with the open alert: open-alerts.c.) */
#define TAILS_MAX 256

struct context;

struct directory {
        struct context *x;
        char *account;
        struct region_directory regions;
        usec_t fetched;           /* CLOCK_REALTIME of the last good answer, 0: never */
        unsigned failures;
        struct http_request *req;
        sd_event_source *timer;
        /* The capacity page, fetched on capacity trouble and reused for CONTEXT_CAPACITY_REUSE. */
        char *capacity;
        size_t capacity_size;
        char *capacity_error;
        usec_t capacity_started;  /* CLOCK_MONOTONIC; 0: never */
        struct http_request *capacity_req;
        struct context_account_figures figures; /* since this context was made, for /metrics */
};

struct tail {
        struct context *x;
        char *account;
        int64_t project_id;
        char *deployment;
        int64_t region_id;
        usec_t started;           /* CLOCK_MONOTONIC */
        struct http_request *req; /* while in flight */
        char *text;               /* the neutralised tail, once fetched */
        char *error;              /* why there is none, once failed */
};

struct context {
        sd_event *event;
        struct http_client *http;
        const struct config *config;
        char *path;               /* the saved directories and counters */
        struct directory **dirs;
        size_t n_dirs;
        struct tail **tails;
        size_t n_tails;
        sd_event_source *wait_end;
        usec_t hold_since;        /* CLOCK_MONOTONIC start of the current hold of events; 0: none */
        struct context_counters counters;
        bool dirty;               /* the saved file is behind */
};

/* ---- saving: what --status shows, and names from the first event after a restart ---- */

static int write_saved(FILE *f, const void *userdata) {
        const struct context *x = userdata;
        struct json_object *o = json_object_new_object(), *dirs = json_object_new_object();
        struct json_object *req = json_object_new_object();

        for (size_t i = 0; i < x->n_dirs; i++) {
                struct json_object *d = json_object_new_object();
                json_object_object_add(d, "fetched_usec", json_object_new_uint64(x->dirs[i]->fetched));
                json_object_object_add(d, "regions", region_directory_to_json(&x->dirs[i]->regions));
                json_object_object_add(dirs, x->dirs[i]->account, d);
        }
        json_object_object_add(req, "regions", json_object_new_uint64(x->counters.regions));
        json_object_object_add(req, "logs", json_object_new_uint64(x->counters.logs));
        json_object_object_add(req, "capacity", json_object_new_uint64(x->counters.capacity));
        json_object_object_add(req, "failed", json_object_new_uint64(x->counters.failed));
        json_object_object_add(o, "accounts", dirs);
        json_object_object_add(o, "requests", req);
        fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return ferror(f) ? -EIO : 0;
}

static void save(struct context *x) {
        int r;

        if (!x->dirty)
                return;
        x->dirty = false;
        r = write_file_atomic_with(x->path, 0600, write_saved, x);
        if (r < 0)
                log_warning_errno(r, "Failed to save %s: %m", x->path);
}

int context_read_saved(const char *state_directory, struct json_object **ret) {
        _cleanup_free_ char *path = xasprintf("%s/" CONTEXT_FILE, state_directory), *text = NULL;
        struct json_object *o;
        size_t size;
        int r;

        r = read_full_file(path, 16u << 20, &text, &size);
        if (r < 0)
                return r;
        o = json_tokener_parse(text);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

static struct json_object *saved_account(struct json_object *saved, const char *account) {
        struct json_object *accounts, *a;

        if (!json_object_object_get_ex(saved, "accounts", &accounts) ||
            !json_object_object_get_ex(accounts, account, &a))
                return NULL;
        return a;
}

void context_saved_directory(struct json_object *saved, const char *account, struct region_directory *ret) {
        struct json_object *a = saved_account(saved, strempty(account)), *regions = NULL;

        if (a)
                (void) json_object_object_get_ex(a, "regions", &regions);
        region_directory_from_json(regions, ret);
}

static void load_saved(struct context *x) {
        _cleanup_free_ char *dir = xstrndup(x->path, strlen(x->path) - strlen("/" CONTEXT_FILE));
        struct json_object *saved = NULL, *req, *v;

        if (context_read_saved(dir, &saved) < 0)
                return;
        for (size_t i = 0; i < x->n_dirs; i++) {
                struct json_object *a = saved_account(saved, x->dirs[i]->account), *regions;
                if (!a)
                        continue;
                if (json_object_object_get_ex(a, "regions", &regions))
                        region_directory_from_json(regions, &x->dirs[i]->regions);
                if (json_object_object_get_ex(a, "fetched_usec", &v))
                        x->dirs[i]->fetched = (usec_t) json_object_get_uint64(v);
        }
        if (json_object_object_get_ex(saved, "requests", &req)) {
                if (json_object_object_get_ex(req, "regions", &v))
                        x->counters.regions = json_object_get_uint64(v);
                if (json_object_object_get_ex(req, "logs", &v))
                        x->counters.logs = json_object_get_uint64(v);
                if (json_object_object_get_ex(req, "capacity", &v))
                        x->counters.capacity = json_object_get_uint64(v);
                if (json_object_object_get_ex(req, "failed", &v))
                        x->counters.failed = json_object_get_uint64(v);
        }
        json_object_put(saved);
}

/* ---- region directories ---- */

static struct directory *find_directory(const struct context *x, const char *account) {
        for (size_t i = 0; i < x->n_dirs; i++)
                if (streq(x->dirs[i]->account, strempty(account)))
                        return x->dirs[i];
        return NULL;
}

/* A request of the account finished, or could not start (a failure too). */
static void count_finished(struct context *x, const char *account, enum context_kind k, bool ok) {
        struct directory *d = find_directory(x, account);

        if (!ok)
                x->counters.failed++;
        if (d)
                (ok ? d->figures.ok : d->figures.failed)[k]++;
}

static void fetch_regions(struct directory *d);

static int on_regions_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        fetch_regions(userdata);
        return 0;
}

static void schedule_regions(struct directory *d, usec_t delay) {
        (void) sd_event_source_set_time_relative(d->timer, delay);
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void on_regions(struct poll_result *res, void *userdata) {
        struct directory *d = userdata;
        struct region_directory fresh;
        const char *why = NULL;

        d->req = NULL;
        if (res->outcome == API_OK && region_directory_parse(res->body, res->size, &fresh, &why) >= 0) {
                region_directory_done(&d->regions);
                d->regions = fresh;
                d->fetched = now_usec(CLOCK_REALTIME);
                d->failures = 0;
                count_finished(d->x, d->account, CONTEXT_REGIONS, true);
                log_info("Region directory of account %s: %zu region%s", d->account, fresh.n, plural(fresh.n));
                schedule_regions(d, CONTEXT_REGIONS_REFRESH);
        } else {
                count_finished(d->x, d->account, CONTEXT_REGIONS, false);
                /* Names are a comfort, not a need: events show ids meanwhile. Said once a run of
                 * failures, not at every retry. */
                if (d->failures++ == 0)
                        log_warning("Region directory of account %s could not be fetched (%s); regions are shown "
                                    "by id until it can", d->account,
                                    res->outcome == API_OK ? why : strempty(res->error.summary));
                schedule_regions(d, backoff_delay(REGIONS_RETRY_MIN, REGIONS_RETRY_MAX, d->failures,
                                                  res->error.retry_after));
        }
        d->x->dirty = true;
        save(d->x);
}

static void fetch_regions(struct directory *d) {
        const struct account *a = config_find_account(d->x->config, d->account);
        _cleanup_free_ char *url = NULL;

        if (!a || d->req)
                return;
        url = xasprintf("%s/cloud/v1/regions?product=inference&limit=1000", a->url);
        d->x->counters.regions++;
        if (poll_fetch(d->x->http, a, url, on_regions, d, &d->req) < 0) {
                d->req = NULL;
                count_finished(d->x, d->account, CONTEXT_REGIONS, false);
                schedule_regions(d, REGIONS_RETRY_MAX);
        }
}

void context_start(struct context *x) {
        usec_t now = now_usec(CLOCK_REALTIME);

        for (size_t i = 0; i < x->n_dirs; i++) {
                struct directory *d = x->dirs[i];
                if (d->fetched > 0 && d->fetched <= now && now - d->fetched < CONTEXT_REGIONS_REFRESH)
                        schedule_regions(d, CONTEXT_REGIONS_REFRESH - (now - d->fetched));
                else
                        fetch_regions(d);
        }
}

/* An id the directory does not know: a region added since, worth one more look, rarely. */
static void notice_region(struct context *x, const char *account, int64_t id) {
        struct directory *d = find_directory(x, account);
        usec_t now = now_usec(CLOCK_REALTIME);

        if (d && d->fetched > 0 && !region_directory_find(&d->regions, id) && !d->req &&
            now - MIN(now, d->fetched) > REGIONS_UNKNOWN_REFETCH) {
                d->fetched = now; /* at most one look per REGIONS_UNKNOWN_REFETCH */
                fetch_regions(d);
        }
}

static const struct region_directory *regions_of(const struct context *x, const char *account) {
        struct directory *d = find_directory(x, account);

        return d ? &d->regions : NULL;
}

char *context_region_names(const struct context *x, const char *account, const char *ids) {
        return region_labels(regions_of(x, account), ids);
}

const struct region_directory *context_regions(const struct context *x, const char *account) {
        return x ? regions_of(x, strempty(account)) : NULL;
}

/* ---- capacity ---- */

/* Error texts of scheduling and capacity failures (Kubernetes' FailedScheduling, "Insufficient
 * nvidia.com/gpu", quota refusals), compared case-insensitively. */
static bool capacity_trouble(const char *error) {
        static const char *const words[] = { "insufficient", "capacity", "unschedulable", "failedscheduling",
                                             "no nodes available", "quota", "not enough" };

        for (size_t i = 0; error && i < ELEMENTSOF(words); i++)
                if (strcasestr(error, words[i]))
                        return true;
        return false;
}

/* The region of a capacity or scheduling error, or of an alert on a region short of ready
 * without any error; NULL when the event needs no capacity hint. */
static const char *capacity_region(const struct event *e) {
        if ((e->type != EVENT_CONTAINER_ERROR && e->type != EVENT_ALERT_FIRING) || !event_get(e, "flavor_name"))
                return NULL;
        if (event_get(e, "short_region_id"))
                return event_get(e, "short_region_id");
        return capacity_trouble(event_get(e, "error_message")) ? event_get(e, "region_id") : NULL;
}

static void on_capacity(struct poll_result *res, void *userdata) {
        struct directory *d = userdata;
        int64_t ignored;
        const char *why = NULL;

        d->capacity_req = NULL;
        if (res->outcome == API_OK &&
            capacity_parse(res->body, res->size, -1, "", &ignored, &why) != -EBADMSG) {
                d->capacity = xstrndup(res->body, res->size);
                d->capacity_size = res->size;
                count_finished(d->x, d->account, CONTEXT_CAPACITY, true);
                return;
        }
        count_finished(d->x, d->account, CONTEXT_CAPACITY, false);
        d->capacity_error = res->outcome == API_OK ? xasprintf("unusable answer: %s", why)
                                                   : xstrdup(strempty(res->error.summary));
        log_warning("Capacity of account %s could not be fetched: %s", d->account, d->capacity_error);
}

static void fetch_capacity(struct directory *d, usec_t now) {
        const struct account *a = config_find_account(d->x->config, d->account);
        _cleanup_free_ char *url = NULL;

        if (!a || d->capacity_req || (d->capacity_started > 0 && now - d->capacity_started < CONTEXT_CAPACITY_REUSE))
                return;
        d->capacity = mfree(d->capacity);
        d->capacity_error = mfree(d->capacity_error);
        d->capacity_started = now;
        url = xasprintf("%s/cloud/v3/inference/capacity", a->url);
        d->x->counters.capacity++;
        d->x->dirty = true;
        if (poll_fetch(d->x->http, a, url, on_capacity, d, &d->capacity_req) < 0) {
                d->capacity_req = NULL;
                d->capacity_error = xstrdup("the request could not be started");
                count_finished(d->x, d->account, CONTEXT_CAPACITY, false);
        }
}

/* "capacity for 1xA100 in Luxembourg-2 (7): 0", in a field and at the end of the message. */
static void attach_capacity(struct context *x, struct event *e) {
        struct directory *d = find_directory(x, e->account);
        const char *flavor = event_get(e, "flavor_name"), *id = capacity_region(e);
        int64_t region, left = 0;
        _cleanup_free_ char *label = NULL, *message = NULL;
        const char *why = NULL;
        int r;

        if (!d || !id)
                return;
        region = strtoll(id, NULL, 10);
        if (!d->capacity) {
                event_addf(e, "capacity_status", "could not be fetched: %s",
                           d->capacity_error ? d->capacity_error : "no answer within 2s");
                return;
        }
        label = region_label(&d->regions, region);
        r = capacity_parse(d->capacity, d->capacity_size, region, flavor, &left, &why);
        if (r < 0) {
                event_addf(e, "capacity_status", "%s is not listed for %s", flavor, label);
                return;
        }
        event_add(e, "capacity_status", "ok");
        event_add_int(e, "capacity", left);
        event_addf(e, "capacity_hint", "capacity for %s in %s: %lld", flavor, label, (long long) left);
        message = xstrdup(strempty(e->message));
        event_set_message(e, "%s; %s", message, event_get(e, "capacity_hint"));
}

/* ---- log tails ---- */

static struct tail *find_tail(const struct context *x, const char *account, int64_t project_id,
                              const char *deployment, int64_t region_id) {
        for (size_t i = x->n_tails; i > 0; i--) {
                struct tail *t = x->tails[i - 1];
                if (t->project_id == project_id && t->region_id == region_id && streq(t->account, account) &&
                    streq(t->deployment, deployment))
                        return t;
        }
        return NULL;
}

static struct tail *tail_free(struct tail *t) {
        if (!t)
                return NULL;
        http_request_cancel(t->req);
        free(t->account);
        free(t->deployment);
        free(t->text);
        free(t->error);
        free(t);
        return NULL;
}

static void on_tail(struct poll_result *res, void *userdata) {
        struct tail *t = userdata;
        const char *why = NULL;

        t->req = NULL;
        if (res->outcome == API_OK &&
            logtail_parse(res->body, res->size, t->region_id, t->x->config->log_tail_lines, &t->text, &why) >= 0) {
                count_finished(t->x, t->account, CONTEXT_LOGS, true);
                return;
        }
        count_finished(t->x, t->account, CONTEXT_LOGS, false);
        t->error = res->outcome == API_OK ? xasprintf("unusable answer: %s", why)
                                          : xstrdup(strempty(res->error.summary));
        log_warning("Log tail of %s region %lld could not be fetched: %s", t->deployment, (long long) t->region_id,
                    t->error);
}

static void fetch_tail(struct context *x, const struct event *e, int64_t region_id) {
        const struct account *a = config_find_account(x->config, strempty(e->account));
        _cleanup_free_ char *base = NULL, *url = NULL;
        struct tail *t;

        if (!a)
                return;
        if (x->n_tails >= TAILS_MAX) {
                tail_free(x->tails[0]);
                memmove(x->tails, x->tails + 1, (x->n_tails - 1) * sizeof(struct tail *));
                x->n_tails--;
        }
        t = xcalloc(1, sizeof(*t));
        *t = (struct tail) {
                .x = x,
                .account = xstrdup(a->name),
                .project_id = e->project_id,
                .deployment = xstrdup(e->deployment),
                .region_id = region_id,
                .started = now_usec(CLOCK_MONOTONIC),
        };
        *(struct tail **) array_append(&x->tails, &x->n_tails, sizeof(struct tail *)) = t;
        base = gcore_url_deployment(a->url, e->project_id, e->deployment);
        url = xasprintf("%s/logs?region_id=%lld&limit=%u&order_by=time.desc", base, (long long) region_id,
                        x->config->log_tail_lines);
        x->counters.logs++;
        x->dirty = true;
        if (poll_fetch(x->http, a, url, on_tail, t, &t->req) < 0) {
                t->req = NULL;
                t->error = xstrdup("the request could not be started");
                count_finished(x, t->account, CONTEXT_LOGS, false);
        }
}

/* Container errors and alerts that name a region; 0 when the event needs no tail. */
static int64_t tail_region(const struct context *x, const struct event *e) {
        const char *r = event_get(e, "region_id");

        if (x->config->log_tail_lines == 0 || !r || !e->deployment || event_get(e, "log_tail_status"))
                return -1;
        if (e->type != EVENT_CONTAINER_ERROR && e->type != EVENT_ALERT_FIRING)
                return -1;
        return strtoll(r, NULL, 10);
}

void context_prepare(struct context *x, const struct event_list *l) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        for (size_t i = 0; i < l->n; i++) {
                const struct event *e = l->items[i];
                int64_t region = e->finished ? -1 : tail_region(x, e);
                struct tail *t;

                if (region < 0)
                        continue;
                t = find_tail(x, strempty(e->account), e->project_id, e->deployment, region);
                /* Fetched for an earlier event of the same incident, or on its way. */
                if (t && (t->req || now - t->started < CONTEXT_TAIL_REUSE))
                        continue;
                fetch_tail(x, e, region);
        }
        for (size_t i = 0; i < l->n; i++) {
                const struct event *e = l->items[i];
                struct directory *d = find_directory(x, e->account);
                if (d && !e->finished && capacity_region(e))
                        fetch_capacity(d, now);
        }
}

static bool fetching(const struct context *x, usec_t now) {
        for (size_t i = 0; i < x->n_tails; i++)
                if (x->tails[i]->req && now - x->tails[i]->started < CONTEXT_TAIL_WAIT)
                        return true;
        for (size_t i = 0; i < x->n_dirs; i++)
                if (x->dirs[i]->capacity_req && now - x->dirs[i]->capacity_started < CONTEXT_TAIL_WAIT)
                        return true;
        return false;
}

/* A hold lasts CONTEXT_TAIL_WAIT from its start, however many requests start meanwhile. */
bool context_waiting(struct context *x) {
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (!fetching(x, now)) {
                x->hold_since = 0;
                return false;
        }
        if (x->hold_since == 0) {
                x->hold_since = now;
                (void) sd_event_source_set_time(x->wait_end, now + CONTEXT_TAIL_WAIT);
                (void) sd_event_source_set_enabled(x->wait_end, SD_EVENT_ONESHOT);
        }
        if (now - x->hold_since < CONTEXT_TAIL_WAIT)
                return true;
        x->hold_since = 0;
        return false;
}

static int on_wait_end(sd_event_source *s, uint64_t usec, void *userdata) {
        /* Nothing to do: dispatching a source is what runs the manager's flush again. */
        return 0;
}

/* ---- events ---- */

/* "region 7" in the message becomes "region Luxembourg-2 (7)", and a region in maintenance
 * says so. */
static void name_region(struct context *x, struct event *e) {
        const char *id = event_get(e, "region_id");
        const struct region *r;
        _cleanup_free_ char *label = NULL, *from = NULL, *message = NULL;
        char *at;

        if (!id)
                return;
        notice_region(x, strempty(e->account), strtoll(id, NULL, 10));
        r = region_directory_find(regions_of(x, strempty(e->account)), strtoll(id, NULL, 10));
        if (!r)
                return;
        event_add(e, "region_name", r->name);
        event_add(e, "region_state", r->state);
        label = region_label(regions_of(x, strempty(e->account)), r->id);
        from = xasprintf("region %s", id);
        /* The message is replaced from a copy: event_set_message frees the old one. */
        message = xstrdup(strempty(e->message));
        for (at = strstr(message, from); at && at[strlen(from)] >= '0' && at[strlen(from)] <= '9';
             at = strstr(at + 1, from))
                ; /* "region 7" is not the start of "region 70" */
        if (at && r->name)
                event_set_message(e, "%.*sregion %s%s", (int) (at - message), message, label, at + strlen(from));
        if (r->state && !streq(r->state, "ACTIVE")) {
                free(message);
                message = xstrdup(strempty(e->message));
                event_set_message(e, "%s (region %s is in %s)", message, label, r->state);
        }
}

static void attach_tail(struct context *x, struct event *e) {
        int64_t region = tail_region(x, e);
        const struct tail *t;

        if (region < 0)
                return;
        t = find_tail(x, strempty(e->account), e->project_id, e->deployment, region);
        if (t && t->text) {
                event_add(e, "log_tail_status", "ok");
                event_add(e, "log_tail", t->text);
        } else if (t && t->error)
                event_addf(e, "log_tail_status", "could not be fetched: %s", t->error);
        else
                event_addf(e, "log_tail_status", "could not be fetched: no answer within %llus",
                           (unsigned long long) (CONTEXT_TAIL_WAIT / USEC_PER_SEC));
}

void context_finish(struct context *x, struct event_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                struct event *e = l->items[i];
                const char *ids = event_get(e, "regions");

                /* Events committed again (an etcd write or a save that failed) are final already. */
                if (!e->deployment || e->finished)
                        continue;
                e->finished = true;
                name_region(x, e);
                /* alert.* carry the error regions as "7,1"; alert.firing's region_id is the first. */
                if (ids && *ids &&
                    ((e->type >= EVENT_ALERT_FIRING && e->type <= EVENT_ALERT_REMINDER) ||
                     e->type == EVENT_ALERT_ESCALATED) &&
                    !event_get(e, "region_names")) {
                        _cleanup_free_ char *names = context_region_names(x, e->account, ids);
                        event_add(e, "region_names", names);
                }
                attach_tail(x, e);
                attach_capacity(x, e);
        }
        save(x);
}

const struct context_counters *context_counters(const struct context *x) {
        return &x->counters;
}

const char *context_kind_to_string(enum context_kind k) {
        static const char *const names[_CONTEXT_KIND_MAX] = {
                [CONTEXT_REGIONS] = "regions", [CONTEXT_LOGS] = "logs", [CONTEXT_CAPACITY] = "capacity",
        };

        return k >= 0 && k < _CONTEXT_KIND_MAX ? names[k] : NULL;
}

void context_foreach_account(const struct context *x, context_figures_fn fn, void *userdata) {
        for (size_t i = 0; x && i < x->n_dirs; i++)
                fn(&x->dirs[i]->figures, userdata);
}

/* ---- life ---- */

int context_new(sd_event *event, struct http_client *http, const struct config *c, struct context **ret) {
        struct context *x = xcalloc(1, sizeof(*x));
        int r;

        x->event = sd_event_ref(event);
        x->http = http;
        x->config = c;
        x->path = xasprintf("%s/" CONTEXT_FILE, c->state_directory);
        r = sd_event_add_time(event, &x->wait_end, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC, on_wait_end, x);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(x->wait_end, SD_EVENT_OFF);
        for (size_t i = 0; i < c->n_accounts; i++) {
                struct directory *d = xcalloc(1, sizeof(*d));
                d->x = x;
                d->account = xstrdup(c->accounts[i].name);
                d->figures.account = d->account;
                *(struct directory **) array_append(&x->dirs, &x->n_dirs, sizeof(struct directory *)) = d;
                r = sd_event_add_time(event, &d->timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_SEC,
                                      on_regions_timer, d);
                if (r < 0)
                        goto fail;
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        }
        load_saved(x);
        *ret = x;
        return 0;
fail:
        context_free(x);
        return r;
}

struct context *context_free(struct context *x) {
        if (!x)
                return NULL;
        for (size_t i = 0; i < x->n_dirs; i++) {
                http_request_cancel(x->dirs[i]->req);
                http_request_cancel(x->dirs[i]->capacity_req);
                free(x->dirs[i]->capacity);
                free(x->dirs[i]->capacity_error);
                sd_event_source_disable_unref(x->dirs[i]->timer);
                region_directory_done(&x->dirs[i]->regions);
                free(x->dirs[i]->account);
                free(x->dirs[i]);
        }
        free(x->dirs);
        for (size_t i = 0; i < x->n_tails; i++)
                tail_free(x->tails[i]);
        free(x->tails);
        sd_event_source_disable_unref(x->wait_end);
        sd_event_unref(x->event);
        free(x->path);
        free(x);
        return NULL;
}
