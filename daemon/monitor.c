#include <search.h>
#include <sys/queue.h>

#include "log.h"
#include "monitor.h"
#include "poll.h"

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

/* Backoff of an account whose API fails, and of a deployment that fails on its own: 0.5 s
 * doubling, capped at the poll interval, less up to 25 % jitter (the official SDKs' curve);
 * Retry-After may lengthen it, up to API_RETRY_AFTER_MAX: a monitor blind for longer is worse
 * than one probe request every ten minutes to an API that throttles. */
#define BACKOFF_BASE (USEC_PER_SEC / 2)
#define API_RETRY_AFTER_MAX (10 * USEC_PER_MINUTE)
/* A lying server could page forever; a list cycle never reads more pages than this. */
#define LIST_MAX_PAGES 10000

enum job_kind {
        JOB_GET,
        JOB_LIST,
};

struct job {
        enum job_kind kind;
        struct mproject *project;
        sd_event_source *timer;
        struct http_request *req;
        usec_t started;           /* CLOCK_MONOTONIC start of the request in flight */
        TAILQ_ENTRY(job) link;    /* in the run queue (queued) or the account's parked list (parked) */
        bool queued;
        bool parked;
};

TAILQ_HEAD(job_list, job);

struct watch {
        struct job job;
        char *name;
        struct watch_state state;
        uint64_t obs_seq;         /* bumped by every observation applied */
        uint8_t digest[POLL_DIGEST_SIZE]; /* of the get-one body observed as obs_seq digest_seq */
        uint64_t digest_seq;      /* 0: no digest */
        usec_t observed_at;       /* start of the request whose observation was applied last */
        usec_t observed_realtime; /* when it was applied, for /metrics */
        uint64_t seen_cycle;      /* "*": the list cycle that last listed it */
        usec_t last_poll;         /* CLOCK_REALTIME */
        char *last_error;
        unsigned failures;        /* failures in a row that speak of it (poll_result.object_scoped) */
        bool failure_reported;    /* watch_failure said it fails on its own */
        TAILQ_ENTRY(watch) link;  /* in the project's watches, in the order they were added */
};

struct maccount {
        struct monitor *m;
        const struct account *cfg;
        struct api_state api;
        unsigned rounds;          /* backoff rounds since the last success */
        usec_t backoff_started;   /* CLOCK_MONOTONIC; 0 when not backing off */
        sd_event_source *backoff_timer;
        struct job_list parked;
        struct job *probe;
        struct job *object_failed; /* the last get-one that failed on its own, if nothing of the
                                    * account succeeded since (compared, never followed) */
        uint64_t requests[_API_OUTCOME_MAX]; /* for /metrics */
        struct metrics_histogram duration;
};

/* What one page of a "*" project's list said last time, so that the same bytes again need no
 * parsing: its digest, and for each item the watch and its observation count right after. */
struct page_memo {
        uint64_t offset;
        int64_t count;
        uint8_t digest[POLL_DIGEST_SIZE];
        char **names;
        uint64_t *seqs;           /* 0: that item was not applied (a newer get-one was) */
        size_t n;
};

struct mproject {
        struct job job;           /* JOB_LIST for "*" projects */
        struct monitor *m;
        const struct project *cfg;
        struct maccount *account;
        void *by_name;            /* tsearch(3) root of struct watch, by name */
        TAILQ_HEAD(, watch) watches;
        bool auth_failed;
        uint64_t cycle;
        uint64_t offset;
        unsigned pages;
        char *last_error;         /* list failures */
        bool list_failed;
        struct page_memo *memos;  /* by page number */
        size_t n_memos;
        usec_t cycle_started;     /* CLOCK_MONOTONIC start of the current list cycle's first page */
};

struct monitor {
        sd_event *event;
        struct http_client *http;
        const struct config *cfg;
        struct diff_params params;
        struct maccount *accounts;
        size_t n_accounts;
        struct mproject *projects;
        size_t n_projects;
        struct job_list queue;
        unsigned in_flight;
        size_t n_armed;           /* job timers enabled */
        bool once;
        struct event_list events;
        bool dirty;
};

static int compare_watch(const void *a, const void *b) {
        return strcmp(((const struct watch *) a)->name, ((const struct watch *) b)->name);
}

static struct watch *watch_find(struct mproject *p, const char *name) {
        struct watch key = { .name = (char *) name };
        void *n = tfind(&key, &p->by_name, compare_watch);

        return n ? *(struct watch **) n : NULL;
}

static struct watch *watch_add(struct mproject *p, const char *name) {
        struct watch *w = xcalloc(1, sizeof(*w));

        w->job.kind = JOB_GET;
        w->job.project = p;
        w->name = xstrdup(name);
        if (!tsearch(w, &p->by_name, compare_watch))
                abort();
        TAILQ_INSERT_TAIL(&p->watches, w, link);
        return w;
}

static void job_unqueue(struct monitor *m, struct job *j);
static void job_unpark(struct job *j);
static void account_probe_lost(struct maccount *a);

static bool timer_enabled(sd_event_source *s) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(s, &enabled);
        return enabled != SD_EVENT_OFF;
}

static void job_stop(struct job *j) {
        if (j->timer && timer_enabled(j->timer))
                j->project->m->n_armed--;
        j->timer = sd_event_source_disable_unref(j->timer);
        http_request_cancel(TAKE_PTR(j->req));
        if (j->queued)
                job_unqueue(j->project->m, j);
        if (j->parked)
                job_unpark(j);
}

static void watch_remove(struct watch *w) {
        struct mproject *p = w->job.project;

        job_stop(&w->job);
        if (p->account->probe == &w->job)
                account_probe_lost(p->account);
        if (p->account->object_failed == &w->job)
                p->account->object_failed = NULL;
        (void) tdelete(w, &p->by_name, compare_watch);
        TAILQ_REMOVE(&p->watches, w, link);
        watch_state_done(&w->state);
        free(w->name);
        free(w->last_error);
        free(w);
}

static struct maccount *job_account(struct job *j) {
        return j->project->account;
}

static const char *job_describe(struct job *j, char buf[static 256]) {
        if (j->kind == JOB_LIST)
                snprintf(buf, 256, "list of project %lld", (long long) j->project->cfg->id);
        else
                snprintf(buf, 256, "%s (project %lld)", container_of(j, struct watch, job)->name,
                         (long long) j->project->cfg->id);
        return buf;
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Runs the job after delay; sd-event may coalesce wake-ups within a small accuracy window. */
static void job_arm(struct job *j, usec_t delay) {
        struct monitor *m = j->project->m;
        usec_t accuracy = MIN(MAX(delay / 50, USEC_PER_MSEC), 500 * USEC_PER_MSEC);
        bool was_armed = j->timer && timer_enabled(j->timer);
        int r;

        if (j->timer) {
                r = sd_event_source_set_time_relative(j->timer, delay);
                if (r >= 0)
                        r = sd_event_source_set_time_accuracy(j->timer, accuracy);
                if (r >= 0)
                        r = sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
        } else {
                r = sd_event_add_time_relative(m->event, &j->timer, CLOCK_MONOTONIC, delay, accuracy,
                                               on_job_timer, j);
                if (r >= 0)
                        (void) sd_event_source_set_enabled(j->timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                log_error_errno(r, "Failed to arm a poll timer: %m");
        if (!was_armed && j->timer && timer_enabled(j->timer))
                m->n_armed++;
}

static bool job_pending(const struct job *j) {
        return j->req || j->queued || j->parked || (j->timer && timer_enabled(j->timer));
}

static void job_park(struct job *j) {
        j->parked = true;
        TAILQ_INSERT_TAIL(&job_account(j)->parked, j, link);
}

static void job_unpark(struct job *j) {
        TAILQ_REMOVE(&job_account(j)->parked, j, link);
        j->parked = false;
}

static void job_enqueue(struct monitor *m, struct job *j) {
        j->queued = true;
        TAILQ_INSERT_TAIL(&m->queue, j, link);
}

static void job_unqueue(struct monitor *m, struct job *j) {
        TAILQ_REMOVE(&m->queue, j, link);
        j->queued = false;
}

static bool account_backing_off(const struct maccount *a) {
        return a->backoff_started != 0;
}

/* While its account backs off, a job waits in the account's parked list; once the backoff timer
 * has fired, the first job to go (parked or not) is the one request that probes the API. */
static bool job_held(struct job *j) {
        struct maccount *a = job_account(j);

        if (!account_backing_off(a) || j->project->m->once)
                return false;
        if (!timer_enabled(a->backoff_timer) && (!a->probe || a->probe == j)) {
                a->probe = j;
                return false;
        }
        job_park(j);
        return true;
}

static void job_start(struct job *j);

static void run_queue(struct monitor *m) {
        while (!TAILQ_EMPTY(&m->queue) && m->in_flight < m->cfg->max_in_flight) {
                struct job *j = TAILQ_FIRST(&m->queue);
                job_unqueue(m, j);
                if (!job_held(j))
                        job_start(j);
        }
}

static void job_due(struct job *j) {
        struct monitor *m = j->project->m;

        if (j->req || j->queued || j->parked)
                return;
        if (job_held(j))
                return;
        if (m->in_flight >= m->cfg->max_in_flight) {
                job_enqueue(m, j);
                return;
        }
        job_start(j);
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct job *j = userdata;

        j->project->m->n_armed--;
        job_due(j);
        return 0;
}

static void emit(struct monitor *m, struct event_list *l) {
        if (l->n > 0)
                m->dirty = true;
        event_list_move(&m->events, l);
}

static void unpark_all(struct maccount *a) {
        struct monitor *m = a->m;
        usec_t spread = MIN(m->cfg->fast_interval, USEC_PER_SEC);

        while (!TAILQ_EMPTY(&a->parked)) {
                struct job *j = TAILQ_FIRST(&a->parked);
                job_unpark(j);
                job_arm(j, random_below(spread));
        }
}

static int on_backoff_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct maccount *a = userdata;
        struct job *j = TAILQ_FIRST(&a->parked);

        /* One request probes the API; the others wait for its verdict. With nothing parked, the
         * next job to come due probes (job_held). */
        if (!j || a->probe)
                return 0;
        job_unpark(j);
        a->probe = j;
        job_start(j);
        return 0;
}

/* The probe went away before its verdict (its deployment is no longer watched): another
 * job probes now. */
static void account_probe_lost(struct maccount *a) {
        a->probe = NULL;
        if (account_backing_off(a) && !timer_enabled(a->backoff_timer)) {
                (void) sd_event_source_set_time_relative(a->backoff_timer, 0);
                (void) sd_event_source_set_enabled(a->backoff_timer, SD_EVENT_ONESHOT);
        }
}

/* A success ends the account's backoff only if its request started after the backoff did: an
 * answer to a request sent before a 429 does not lift that 429's Retry-After. */
static void account_success(struct maccount *a, const struct job *j) {
        struct monitor *m = a->m;
        struct event_list l = {};
        bool was_failing = a->rounds > 0 || a->api.unreachable;

        a->object_failed = NULL;
        if (!was_failing || (account_backing_off(a) && a->probe != j && j->started < a->backoff_started))
                return;
        diff_api_success(&a->api, a->cfg->name, a->cfg->url, now_usec(CLOCK_REALTIME), &l);
        emit(m, &l);
        if (a->rounds > 0)
                log_info("API %s answers again", a->cfg->name);
        a->rounds = 0;
        a->backoff_started = 0;
        a->probe = NULL;
        (void) sd_event_source_set_enabled(a->backoff_timer, SD_EVENT_OFF);
        m->dirty = true;
        unpark_all(a);
}

/* A retryable failure: the job waits for the account's backoff to end. Failures of requests
 * that started before the current round count once, as the outage they all saw. */
static void account_failure(struct maccount *a, struct job *j, const struct api_error *err) {
        struct monitor *m = a->m;
        struct event_list l = {};
        usec_t now = now_usec(CLOCK_MONOTONIC), delay;
        usec_t imposed = MIN(err->retry_after, API_RETRY_AFTER_MAX);
        char b[32], what[256];

        if (account_backing_off(a) && a->probe != j && j->started < a->backoff_started) {
                /* The same outage, but a Retry-After it brings still holds (unless the probe
                 * already went: its verdict decides). */
                usec_t due = 0;
                if (imposed > 0 && timer_enabled(a->backoff_timer) &&
                    sd_event_source_get_time(a->backoff_timer, &due) >= 0 && now + imposed > due)
                        (void) sd_event_source_set_time(a->backoff_timer, now + imposed);
                job_park(j);
                return;
        }
        a->rounds++;
        a->probe = NULL;
        /* A silence the API imposes for longer than unreachable_after polls at the interval
         * would take blinds the monitor as much as an outage: it is reported as one at once. */
        if (imposed > (usec_t) m->cfg->unreachable_after * m->cfg->interval)
                a->api.failures = MAX(a->api.failures, m->cfg->unreachable_after - 1);
        diff_api_failure(&m->params, &a->api, a->cfg->name, a->cfg->url, err, now_usec(CLOCK_REALTIME), &l);
        emit(m, &l);
        delay = backoff_delay(BACKOFF_BASE, MAX(m->cfg->interval, BACKOFF_BASE), a->rounds, imposed);
        log_full(a->rounds == 1 ? LOG_NOTICE : LOG_DEBUG, "Poll of %s failed: %s; API %s paused for %s%s",
                 job_describe(j, what), strempty(err->summary), a->cfg->name, format_duration(b, delay),
                 err->retry_after > imposed ? " (its Retry-After capped)" : "");
        a->backoff_started = now;
        (void) sd_event_source_set_time_relative(a->backoff_timer, delay);
        (void) sd_event_source_set_enabled(a->backoff_timer, SD_EVENT_ONESHOT);
        m->dirty = true;
        job_park(j);
}

/* Whether a get-one's failure that speaks of its own deployment (a 500, an unusable body) is
 * rather evidence against the account: it is that deployment's first, and the account is
 * backing off already, or another deployment's first failure came before it with nothing of the
 * account succeeding in between. A deployment that keeps failing is never evidence: with a
 * success between two failures, the API evidently answers. */
static bool object_failure_is_account(const struct maccount *a, const struct watch *w) {
        if (w->failures > 0)
                return false;
        return account_backing_off(a) || (a->object_failed && a->object_failed != &w->job);
}

/* A deployment that fails on its own is its own problem: reported once, retried with its own
 * backoff (capped at the interval), while the rest of the account is polled as usual. */
static void watch_failure(struct watch *w, const struct api_error *err) {
        struct maccount *a = w->job.project->account;
        struct monitor *m = a->m;
        char b[32], what[256];
        usec_t delay;

        if (w->failures == 0)
                a->object_failed = &w->job;
        if (a->probe == &w->job)
                account_probe_lost(a);
        w->failures++;
        delay = backoff_delay(BACKOFF_BASE, MAX(m->cfg->interval, BACKOFF_BASE), w->failures,
                              MIN(err->retry_after, API_RETRY_AFTER_MAX));
        log_full(w->failure_reported ? LOG_DEBUG : LOG_WARNING,
                 "Poll of %s failed: %s; retried on its own, the API answers for the others",
                 job_describe(&w->job, what), strempty(err->summary));
        w->failure_reported = true;
        log_debug("Next poll of %s in %s", what, format_duration(b, delay));
        job_arm(&w->job, delay);
}

/* Any answer but a retryable failure ends a deployment's own failures. */
static void watch_answered(struct watch *w, enum api_outcome o) {
        char what[256];

        if (w->failure_reported && (o == API_OK || o == API_NOT_FOUND))
                log_info("Poll of %s succeeds again after %u failed polls", job_describe(&w->job, what), w->failures);
        w->failures = 0;
        w->failure_reported = false;
}

static usec_t stable_delay(const struct monitor *m) {
        return jitter(m->cfg->interval, 0.1);
}

/* The next regular poll of something last polled at started: within the last tenth of the
 * interval before started + interval, so that the jitter spreads polls without ever making a
 * stable deployment wait longer than interval (the timer's 2 % accuracy window included). */
static usec_t stable_delay_since(const struct monitor *m, usec_t started) {
        usec_t interval = m->cfg->interval;
        usec_t period = interval - interval / 50 - random_below(interval / 12 + 1);
        usec_t elapsed = now_usec(CLOCK_MONOTONIC) - MIN(started, now_usec(CLOCK_MONOTONIC));

        return period > elapsed ? period - elapsed : 0;
}

static usec_t fast_delay(const struct monitor *m) {
        return jitter(m->cfg->fast_interval, 0.05);
}

static void watch_reschedule(struct watch *w) {
        struct monitor *m = w->job.project->m;

        if (m->once)
                return;
        if (watch_state_wants_fast(&w->state))
                job_arm(&w->job, fast_delay(m));
        else if (!w->job.project->cfg->all || w->state.gone)
                job_arm(&w->job, stable_delay_since(m, w->job.started));
        /* else: a "*" project's list covers it every interval */
}

static void observe(struct watch *w, const struct deployment *d, struct event_list *l) {
        struct mproject *p = w->job.project;
        struct monitor *m = p->m;
        const struct deployment *before = w->state.snap;

        w->observed_realtime = now_usec(CLOCK_REALTIME);
        diff_observe(&m->params, &w->state, p->account->cfg->name, p->cfg->id, w->name, d, w->observed_realtime, l);
        /* A new snapshot without an event (an error's new text under the same signature) is
         * still what --status should show: save it. */
        if (w->state.snap != before)
                m->dirty = true;
        w->obs_seq++;
}

static void set_error(char **slot, const char *summary) {
        free(*slot);
        *slot = xstrdup(summary);
}

static void set_watch_error(struct watch *w, const char *summary) {
        set_error(&w->last_error, summary);
}

static void project_auth(struct mproject *p, bool ok, const struct api_error *err) {
        struct event_list l = {};
        usec_t now = now_usec(CLOCK_REALTIME);

        if (ok)
                diff_auth_success(&p->auth_failed, p->account->cfg->name, p->cfg->id, now, &l);
        else
                diff_auth_failure(&p->auth_failed, p->account->cfg->name, p->cfg->id, err, now, &l);
        emit(p->m, &l);
}

/* For /metrics: one finished request, its outcome once the body was judged. */
static void account_count(struct maccount *a, const struct poll_result *res) {
        a->requests[res->outcome]++;
        metrics_histogram_observe(&a->duration, (double) res->elapsed / USEC_PER_SEC);
}

static void job_finished(struct job *j) {
        struct monitor *m = j->project->m;

        j->req = NULL;
        m->in_flight--;
        run_queue(m);
}

static void on_get_done(struct poll_result *res, void *userdata) {
        struct watch *w = container_of(userdata, struct watch, job);
        struct mproject *p = w->job.project;
        struct monitor *m = p->m;
        struct event_list l = {};
        char what[256];

        bool same = false;

        job_finished(&w->job);
        w->last_poll = now_usec(CLOCK_REALTIME);
        if (res->outcome == API_OK) {
                /* The very body of the last observation, which nothing else overrode since: its
                 * stored snapshot is what parsing it would give. */
                same = w->digest_seq != 0 && w->digest_seq == w->obs_seq && w->state.snap &&
                       memcmp(w->digest, res->digest, POLL_DIGEST_SIZE) == 0;
                if (!same)
                        (void) poll_result_parse(res); /* an unusable body becomes retryable */
        }
        account_count(p->account, res);
        /* Any answer but a retryable failure shows the API is there, a probe's included. */
        if (res->outcome != API_RETRYABLE) {
                account_success(p->account, &w->job);
                watch_answered(w, res->outcome);
        }

        switch (res->outcome) {
        case API_OK:
        case API_NOT_FOUND:
                project_auth(p, true, NULL);
                w->last_error = mfree(w->last_error);
                if (w->job.started >= w->observed_at) {
                        w->observed_at = w->job.started;
                        observe(w, res->outcome != API_OK ? NULL : same ? w->state.snap : &res->deployment, &l);
                        if (res->outcome == API_OK) {
                                memcpy(w->digest, res->digest, POLL_DIGEST_SIZE);
                                w->digest_seq = w->obs_seq;
                        } else
                                w->digest_seq = 0;
                }
                emit(m, &l);
                if (w->state.gone && p->cfg->all) {
                        watch_remove(w);
                        return;
                }
                watch_reschedule(w);
                return;
        case API_AUTH_FAILED:
                set_watch_error(w, res->error.summary);
                project_auth(p, false, &res->error);
                if (!m->once)
                        job_arm(&w->job, stable_delay(m));
                return;
        case API_RETRYABLE:
                set_watch_error(w, res->error.summary);
                if (m->once)
                        return;
                if (!res->object_scoped) {
                        account_failure(p->account, &w->job, &res->error);
                } else if (object_failure_is_account(p->account, w)) {
                        w->failures++;
                        account_failure(p->account, &w->job, &res->error);
                } else
                        watch_failure(w, &res->error);
                return;
        default:
                set_watch_error(w, res->error.summary);
                log_warning("Poll of %s failed: %s", job_describe(&w->job, what), strempty(res->error.summary));
                if (!m->once)
                        job_arm(&w->job, stable_delay(m));
                return;
        }
}

static void list_cycle_complete(struct mproject *p) {
        struct monitor *m = p->m;

        p->list_failed = false;
        p->last_error = mfree(p->last_error);
        if (m->once)
                return;
        struct watch *w;
        TAILQ_FOREACH(w, &p->watches, link) {
                if (job_pending(&w->job))
                        continue;
                /* Absent from a complete list: a get-one confirms before anything is reported,
                 * since offset paging can skip an item when others come and go meanwhile. */
                if (w->seen_cycle != p->cycle)
                        job_arm(&w->job, 0);
                else if (watch_state_wants_fast(&w->state))
                        job_arm(&w->job, fast_delay(m));
        }
        p->cycle++;
        p->offset = 0;
        p->pages = 0;
        job_arm(&p->job, stable_delay_since(m, p->cycle_started));
}

static void page_memo_done(struct page_memo *memo) {
        for (size_t i = 0; i < memo->n; i++)
                free(memo->names[i]);
        free(memo->names);
        free(memo->seqs);
        *memo = (struct page_memo) {};
}

static struct page_memo *page_memo_get(struct mproject *p, unsigned page) {
        while (p->n_memos <= page)
                (void) array_append(&p->memos, &p->n_memos, sizeof(struct page_memo));
        return &p->memos[page];
}

/* Applies one item of a page to its watch, unless a get-one newer than the page was applied
 * already; returns the watch's observation count after it, or 0 when it was not applied. */
static uint64_t list_item(struct mproject *p, struct watch *w, const struct deployment *d, struct event_list *l) {
        w->seen_cycle = p->cycle;
        w->last_poll = now_usec(CLOCK_REALTIME);
        if (p->job.started < w->observed_at)
                return 0;
        w->observed_at = p->job.started;
        w->last_error = mfree(w->last_error);
        observe(w, d, l);
        return w->obs_seq;
}

/* An item of a page whose counts cannot be trusted: listed (so not gone), not observed, and
 * that deployment's poll failure, reported when it starts or its reason changes. */
static void list_item_unusable(struct mproject *p, struct watch *w, const struct poll_result *res, const char *why) {
        _cleanup_free_ char *summary = xasprintf("HTTP %ld with an unusable body: %s", res->error.http_status, why);
        char what[256];

        w->seen_cycle = p->cycle;
        w->last_poll = now_usec(CLOCK_REALTIME);
        if (!streq_ptr(w->last_error, summary) && !p->m->once)
                log_warning("Poll of %s failed: %s; the rest of the list is used", job_describe(&w->job, what), summary);
        set_watch_error(w, summary);
}

static void list_page(struct mproject *p, struct page_memo *memo, const struct poll_result *res) {
        const struct deployment_page *page = &res->page;
        struct event_list l = {};

        page_memo_done(memo);
        memo->offset = p->offset;
        memo->count = page->count;
        memcpy(memo->digest, res->digest, POLL_DIGEST_SIZE);
        memo->names = xcalloc(page->n_items, sizeof(char *));
        memo->seqs = xcalloc(page->n_items, sizeof(uint64_t));
        memo->n = page->n_items;
        for (size_t i = 0; i < page->n_items; i++) {
                const struct deployment *d = &page->items[i];
                struct watch *w = watch_find(p, d->name);
                if (!w)
                        w = watch_add(p, d->name);
                memo->names[i] = xstrdup(d->name);
                if (page->unusable[i])
                        list_item_unusable(p, w, res, page->unusable[i]);
                else
                        memo->seqs[i] = list_item(p, w, d, &l);
        }
        emit(p->m, &l);
}

/* Whether res is the page memo saw, and every item's watch still stands where that page left
 * it (no get-one changed it since): then the stored snapshots are the page's items. */
static bool page_unchanged(struct mproject *p, const struct page_memo *memo, const struct poll_result *res) {
        if (!memo->names || memo->offset != p->offset || memcmp(memo->digest, res->digest, POLL_DIGEST_SIZE) != 0)
                return false;
        for (size_t i = 0; i < memo->n; i++) {
                const struct watch *w = watch_find(p, memo->names[i]);
                if (!w || memo->seqs[i] == 0 || w->obs_seq != memo->seqs[i] || !w->state.snap)
                        return false;
        }
        return true;
}

static void list_page_again(struct mproject *p, struct page_memo *memo) {
        struct event_list l = {};

        for (size_t i = 0; i < memo->n; i++) {
                struct watch *w = watch_find(p, memo->names[i]);
                memo->seqs[i] = list_item(p, w, w->state.snap, &l);
        }
        emit(p->m, &l);
}

/* The cycle starts again from the first page at the next poll. */
static void list_failed(struct mproject *p, const char *summary) {
        p->list_failed = true;
        set_error(&p->last_error, summary);
        p->offset = 0;
        p->pages = 0;
}

static void on_list_done(struct poll_result *res, void *userdata) {
        struct mproject *p = container_of(userdata, struct mproject, job);
        struct monitor *m = p->m;
        char what[256];

        struct page_memo *memo = NULL;
        size_t n_items = 0;
        int64_t count = 0;
        _cleanup_free_ char *why = NULL;
        int r;

        if (res->outcome == API_OK) {
                memo = page_memo_get(p, p->pages);
                if (page_unchanged(p, memo, res)) {
                        n_items = memo->n;
                        count = memo->count;
                } else {
                        memo = NULL;
                        if (poll_result_parse(res) >= 0) {
                                n_items = res->page.n_items;
                                count = res->page.count;
                        }
                }
        }

        account_count(p->account, res);
        if (res->outcome != API_RETRYABLE)
                account_success(p->account, &p->job);

        switch (res->outcome) {
        case API_OK:
                project_auth(p, true, NULL);
                if (memo)
                        list_page_again(p, memo);
                else
                        list_page(p, page_memo_get(p, p->pages), res);
                p->offset += n_items;
                p->pages++;
                if (n_items == 0 || p->offset >= (uint64_t) count || p->pages >= LIST_MAX_PAGES) {
                        job_finished(&p->job);
                        list_cycle_complete(p);
                        return;
                }
                if (account_backing_off(p->account) && !m->once) {
                        /* Another request of the account failed meanwhile: the next page waits
                         * with the others, and the cycle goes on from there. */
                        job_finished(&p->job);
                        job_park(&p->job);
                        return;
                }
                /* The next page keeps this request's place among those in flight. */
                p->job.req = NULL;
                p->job.started = now_usec(CLOCK_MONOTONIC);
                r = poll_list(m->http, p->account->cfg, p->cfg->id, p->offset, on_list_done, &p->job, &p->job.req);
                if (r >= 0)
                        return;
                p->job.req = NULL;
                job_finished(&p->job);
                why = xasprintf("cannot start the request: %s", strerror(-r));
                list_failed(p, why);
                log_warning("Poll of %s failed: %s", job_describe(&p->job, what), why);
                break;
        case API_AUTH_FAILED:
                job_finished(&p->job);
                list_failed(p, res->error.summary);
                project_auth(p, false, &res->error);
                break;
        case API_RETRYABLE:
                job_finished(&p->job);
                list_failed(p, res->error.summary);
                if (!m->once)
                        account_failure(p->account, &p->job, &res->error);
                return;
        default:
                job_finished(&p->job);
                list_failed(p, res->error.summary);
                log_warning("Poll of %s failed: %s", job_describe(&p->job, what), strempty(res->error.summary));
                break;
        }
        if (!m->once)
                job_arm(&p->job, stable_delay(m));
}

static void job_start(struct job *j) {
        struct mproject *p = j->project;
        struct monitor *m = p->m;
        int r;

        m->in_flight++;
        j->started = now_usec(CLOCK_MONOTONIC);
        if (j->kind == JOB_LIST && p->offset == 0)
                p->cycle_started = j->started;
        if (j->kind == JOB_LIST)
                r = poll_list(m->http, p->account->cfg, p->cfg->id, p->offset, on_list_done, j, &j->req);
        else
                r = poll_get(m->http, p->account->cfg, p->cfg->id, container_of(j, struct watch, job)->name,
                             on_get_done, j, &j->req);
        if (r < 0) {
                j->req = NULL;
                job_finished(j);
                log_error_errno(r, "Failed to start a request: %m");
                if (!m->once)
                        job_arm(j, stable_delay(m));
        }
}

int monitor_new(sd_event *event, struct http_client *http, const struct config *c, bool once,
                struct monitor **ret) {
        struct monitor *m = xcalloc(1, sizeof(*m));
        int r;

        TAILQ_INIT(&m->queue);
        m->event = sd_event_ref(event);
        m->http = http;
        m->cfg = c;
        m->once = once;
        m->params = (struct diff_params) {
                .stuck_after = c->stuck_after,
                .alert_for = c->alert_for,
                .resolve_for = c->resolve_for,
                .repeat_interval = c->repeat_interval,
                .unreachable_after = c->unreachable_after,
                .flap = { .returns = c->flap_returns, .window = c->flap_window, .stable = c->flap_stable },
        };

        m->n_accounts = c->n_accounts;
        m->accounts = xcalloc(c->n_accounts, sizeof(struct maccount));
        for (size_t i = 0; i < c->n_accounts; i++) {
                struct maccount *a = &m->accounts[i];
                a->m = m;
                a->cfg = &c->accounts[i];
                TAILQ_INIT(&a->parked);
                r = sd_event_add_time(event, &a->backoff_timer, CLOCK_MONOTONIC, USEC_INFINITY,
                                               USEC_PER_MSEC, on_backoff_timer, a);
                if (r < 0) {
                        monitor_free(m);
                        return r;
                }
                (void) sd_event_source_set_enabled(a->backoff_timer, SD_EVENT_OFF);
        }

        m->n_projects = c->n_projects;
        m->projects = xcalloc(c->n_projects, sizeof(struct mproject));
        for (size_t i = 0; i < c->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                p->m = m;
                p->cfg = &c->projects[i];
                TAILQ_INIT(&p->watches);
                p->job.kind = JOB_LIST;
                p->job.project = p;
                p->account = &m->accounts[c->projects[i].account - c->accounts];
                for (size_t k = 0; k < p->cfg->n_deployments; k++)
                        if (!watch_find(p, p->cfg->deployments[k]))
                                (void) watch_add(p, p->cfg->deployments[k]);
        }
        *ret = m;
        return 0;
}

struct monitor *monitor_free(struct monitor *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                while (!TAILQ_EMPTY(&p->watches))
                        watch_remove(TAILQ_FIRST(&p->watches));
                job_stop(&p->job);
                free(p->last_error);
                for (size_t k = 0; k < p->n_memos; k++)
                        page_memo_done(&p->memos[k]);
                free(p->memos);
        }
        for (size_t i = 0; i < m->n_accounts; i++)
                sd_event_source_disable_unref(m->accounts[i].backoff_timer);
        free(m->projects);
        free(m->accounts);
        event_list_clear(&m->events);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

static struct mproject *find_project(struct monitor *m, const char *url, int64_t id) {
        for (size_t i = 0; i < m->n_projects; i++)
                if (m->projects[i].cfg->id == id && streq(m->projects[i].account->cfg->url, url))
                        return &m->projects[i];
        return NULL;
}

void monitor_import(struct monitor *m, struct saved_state *s) {
        size_t kept = 0;

        for (size_t i = 0; i < s->n_watches; i++) {
                struct watch_record *r = &s->watches[i];
                struct mproject *p = find_project(m, r->url, r->project_id);
                struct watch *w = p ? watch_find(p, r->name) : NULL;

                if (!w && p && p->cfg->all && !r->state.gone)
                        w = watch_add(p, r->name);
                if (!w) {
                        s->watches[kept++] = *r;
                        continue;
                }
                watch_state_done(&w->state);
                w->state = r->state;
                w->last_poll = r->last_poll;
                w->last_error = r->last_error;
                free(r->url);
                free(r->name);
                free(r->account);
        }
        s->n_watches = kept;

        for (size_t i = 0; i < s->n_accounts; i++)
                for (size_t k = 0; k < m->n_accounts; k++)
                        if (streq(m->accounts[k].cfg->url, s->accounts[i].url))
                                m->accounts[k].api = s->accounts[i].api;
        for (size_t i = 0; i < s->n_projects; i++) {
                struct mproject *p = find_project(m, s->projects[i].url, s->projects[i].project_id);
                if (p)
                        p->auth_failed = s->projects[i].auth_failed;
        }
}

static struct deployment *dup_or_null(const struct deployment *d) {
        return d ? deployment_dup(d) : NULL;
}

static void copy_state(struct watch_state *dst, const struct watch_state *src) {
        *dst = *src;
        dst->snap = dup_or_null(src->snap);
        dst->alert.severity = xstrdup(src->alert.severity);
        dst->alert.summary = xstrdup(src->alert.summary);
        dst->alert.regions = xstrdup(src->alert.regions);
}

/* borrow: the watch records point into the monitor instead of holding copies. */
static void export(const struct monitor *m, bool borrow, struct saved_state *ret) {
        struct saved_state s = { .written = now_usec(CLOCK_REALTIME), .pid = getpid(), .watches_borrowed = borrow };

        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                struct project_record *pr = array_append(&s.projects, &s.n_projects, sizeof(*pr));
                pr->url = xstrdup(p->account->cfg->url);
                pr->project_id = p->cfg->id;
                pr->auth_failed = p->auth_failed;
                const struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link) {
                        struct watch_record *r = array_append(&s.watches, &s.n_watches, sizeof(*r));
                        r->project_id = p->cfg->id;
                        r->last_poll = w->last_poll;
                        if (borrow) {
                                r->url = (char *) p->account->cfg->url;
                                r->name = w->name;
                                r->account = (char *) p->account->cfg->name;
                                r->state = w->state;
                                r->last_error = w->last_error;
                                continue;
                        }
                        r->url = xstrdup(p->account->cfg->url);
                        r->name = xstrdup(w->name);
                        r->account = xstrdup(p->account->cfg->name);
                        copy_state(&r->state, &w->state);
                        r->last_error = xstrdup(w->last_error);
                }
        }
        for (size_t i = 0; i < m->n_accounts; i++) {
                struct account_record *a = array_append(&s.accounts, &s.n_accounts, sizeof(*a));
                a->url = xstrdup(m->accounts[i].cfg->url);
                a->name = xstrdup(m->accounts[i].cfg->name);
                a->api = m->accounts[i].api;
        }
        *ret = s;
}

void monitor_export(const struct monitor *m, struct saved_state *ret) {
        export(m, false, ret);
}

void monitor_view(const struct monitor *m, struct saved_state *ret) {
        export(m, true, ret);
}

int monitor_start(struct monitor *m) {
        usec_t spread = m->once ? 0 : MIN(m->cfg->interval, USEC_PER_SEC);

        for (size_t i = 0; i < m->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                if (p->cfg->all)
                        job_arm(&p->job, random_below(spread));
                struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link)
                        if (!p->cfg->all || (!m->once && watch_state_wants_fast(&w->state)))
                                job_arm(&w->job, random_below(spread));
        }
        return 0;
}

void monitor_take_events(struct monitor *m, struct event_list *out) {
        event_list_move(out, &m->events);
}

bool monitor_take_dirty(struct monitor *m) {
        bool d = m->dirty;

        m->dirty = false;
        return d;
}

/* In O(1): once.c asks after every loop iteration. (--once parks nothing: no backoff.) */
bool monitor_once_done(const struct monitor *m) {
        return m->in_flight == 0 && TAILQ_EMPTY(&m->queue) && m->n_armed == 0;
}

void monitor_count(const struct monitor *m, struct monitor_counts *ret) {
        struct monitor_counts c = {};

        for (size_t i = 0; i < m->n_accounts; i++)
                if (m->accounts[i].api.unreachable)
                        c.accounts_unreachable++;
        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                if (p->auth_failed)
                        c.projects_auth_failed++;
                if (p->list_failed)
                        c.polls_failed++;
                const struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link) {
                        c.deployments++;
                        c.by_health[w->state.health]++;
                        if (w->state.alert.open)
                                c.alerts_open++;
                        if (w->last_error)
                                c.polls_failed++;
                }
        }
        *ret = c;
}

void monitor_foreach(const struct monitor *m, monitor_watch_fn fn, void *userdata) {
        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                const struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link)
                        fn(p->account->cfg->name, p->cfg->id, w->name, &w->state, w->last_error, userdata);
        }
}

void monitor_foreach_auth_failed(const struct monitor *m, monitor_project_fn fn, void *userdata) {
        for (size_t i = 0; i < m->n_projects; i++)
                if (m->projects[i].auth_failed)
                        fn(m->projects[i].account->cfg->name, m->projects[i].cfg->id, NULL, userdata);
}

void monitor_foreach_failed_list(const struct monitor *m, monitor_project_fn fn, void *userdata) {
        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                if (p->list_failed)
                        fn(p->account->cfg->name, p->cfg->id, p->last_error, userdata);
        }
}

void monitor_foreach_watch(const struct monitor *m, monitor_watch_info_fn fn, void *userdata) {
        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                const struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link)
                        fn(&(struct monitor_watch_info) {
                                   .account = p->account->cfg->name,
                                   .project_id = p->cfg->id,
                                   .name = w->name,
                                   .state = &w->state,
                                   .observed = w->observed_realtime,
                           }, userdata);
        }
}

void monitor_foreach_account(const struct monitor *m, monitor_account_info_fn fn, void *userdata) {
        for (size_t i = 0; i < m->n_accounts; i++) {
                const struct maccount *a = &m->accounts[i];
                fn(&(struct monitor_account_info) {
                           .name = a->cfg->name,
                           .api = &a->api,
                           .backing_off = account_backing_off(a),
                           .requests = a->requests,
                           .duration = &a->duration,
                   }, userdata);
        }
}
