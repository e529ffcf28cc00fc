#include "log.h"
#include "monitor-internal.h"

/* A lying server could page forever; a list cycle never reads more pages than this. */
#define LIST_MAX_PAGES 10000

/* What one page of a "*" project's list said last time, so that the same bytes again need no
 * parsing: its digest, and for each item the watch and its observation count right after. A
 * watch removed forgets its project's memos (their pages are parsed again). */
struct page_memo {
        uint64_t offset;
        int64_t count;
        uint8_t digest[POLL_DIGEST_SIZE];
        struct watch **watches;
        uint32_t *seqs;           /* 0: that item was not applied (a newer get-one was) */
        size_t n;
};

static const char *watch_last_error(const struct watch *w) {
        return w->extra ? w->extra->last_error : NULL;
}

static struct watch_extra *watch_extra(struct watch *w) {
        if (!w->extra)
                w->extra = xcalloc(1, sizeof(*w->extra));
        return w->extra;
}

/* Frees w's extra once it holds nothing. */
static void watch_extra_trim(struct watch *w) {
        if (w->extra && w->extra->seq == 0 && !w->extra->last_error)
                w->extra = mfree(w->extra);
}

static void clear_watch_error(struct watch *w) {
        if (w->extra)
                w->extra->last_error = mfree(w->extra->last_error);
        watch_extra_trim(w);
}

static struct watch *watch_find(struct mproject *p, const char *name) {
        return strtable_find(&p->by_name, name);
}

static struct watch *watch_add(struct mproject *p, const char *name) {
        /* The name in the same allocation: one fewer per deployment. */
        struct watch *w = xcalloc(1, offsetof(struct watch, name) + strlen(name) + 1);

        w->project = p;
        strcpy(w->name, name);
        strtable_add(&p->by_name, w);
        TAILQ_INSERT_TAIL(&p->watches, w, link);
        return w;
}

struct job *watch_job(struct watch *w) {
        if (!w->job) {
                w->job = xcalloc(1, sizeof(struct watch_job));
                w->job->job.kind = JOB_GET;
                w->job->job.project = w->project;
                w->job->watch = w;
        }
        return &w->job->job;
}

bool watch_pending(const struct watch *w) {
        return w->job && job_pending(&w->job->job);
}

void watch_job_drop(struct watch *w) {
        struct maccount *a = w->project->account;

        if (!w->job || job_pending(&w->job->job) || a->probe == &w->job->job)
                return;
        if (a->object_failed == &w->job->job)
                a->object_failed = NULL;
        w->job = mfree(w->job);
}

static void page_memo_done(struct page_memo *memo);

static void watch_remove(struct watch *w) {
        struct mproject *p = w->project;

        if (w->job) {
                job_stop(&w->job->job);
                if (p->account->probe == &w->job->job)
                        account_probe_lost(p->account);
                watch_job_drop(w);
        }
        for (size_t i = 0; i < p->n_memos; i++)
                page_memo_done(&p->memos[i]);
        strtable_remove(&p->by_name, w);
        TAILQ_REMOVE(&p->watches, w, link);
        watch_state_done(&w->state);
        clear_watch_error(w);
        free(w->extra);
        free(w);
}

void emit(struct monitor *m, struct event_list *l) {
        if (l->n > 0)
                m->dirty = true;
        event_list_move(&m->events, l);
}

static void observe(struct watch *w, const struct deployment *d, struct event_list *l) {
        struct mproject *p = w->project;
        struct monitor *m = p->m;
        const struct deployment *before = w->state.snap;

        w->observed_realtime = now_usec(CLOCK_REALTIME);
        diff_observe(&m->params, &w->state, p->account->cfg->name, p->cfg->id, w->name, d, w->observed_realtime, l);
        /* A new snapshot without an event (an error's new text under the same signature) is
         * still what --status should show: save it. */
        if (w->state.snap != before)
                m->dirty = true;
        if (++w->obs_seq == 0)
                w->obs_seq = 1; /* 0 means none in the memos and the digest */
}

static void set_error(char **slot, const char *summary) {
        free(*slot);
        *slot = xstrdup(summary);
}

static void set_watch_error(struct watch *w, const char *summary) {
        set_error(&watch_extra(w)->last_error, summary);
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

static void on_get_done(struct poll_result *res, void *userdata) {
        struct job *j = userdata;
        struct watch *w = job_watch(j);
        struct mproject *p = w->project;
        struct monitor *m = p->m;
        struct event_list l = {};
        char what[256];

        bool same = false;

        job_finished(j);
        w->last_poll = now_usec(CLOCK_REALTIME);
        if (res->outcome == API_OK) {
                /* The very body of the last observation, which nothing else overrode since: its
                 * stored snapshot is what parsing it would give. */
                same = w->extra && w->extra->seq != 0 && w->extra->seq == w->obs_seq && w->state.snap &&
                       memcmp(w->extra->sha256, res->digest, POLL_DIGEST_SIZE) == 0;
                if (!same)
                        (void) poll_result_parse(res); /* an unusable body becomes retryable */
        }
        account_count(p->account, res);
        /* Any answer but a retryable failure shows the API is there, a probe's included. */
        if (res->outcome != API_RETRYABLE) {
                account_success(p->account, j);
                watch_answered(w, res->outcome);
        }

        switch (res->outcome) {
        case API_OK:
        case API_NOT_FOUND:
                project_auth(p, true, NULL);
                clear_watch_error(w);
                if (j->started >= w->observed_at) {
                        w->observed_at = j->started;
                        observe(w, res->outcome != API_OK ? NULL : same ? w->state.snap : &res->deployment, &l);
                        if (res->outcome == API_OK) {
                                memcpy(watch_extra(w)->sha256, res->digest, POLL_DIGEST_SIZE);
                                w->extra->seq = w->obs_seq;
                        } else if (w->extra) {
                                w->extra->seq = 0;
                                watch_extra_trim(w);
                        }
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
                        job_arm(j, stable_delay(m));
                return;
        case API_RETRYABLE:
                set_watch_error(w, res->error.summary);
                if (m->once)
                        return;
                if (!res->object_scoped) {
                        account_failure(p->account, j, &res->error);
                } else if (object_failure_is_account(p->account, w)) {
                        w->failures++;
                        account_failure(p->account, j, &res->error);
                } else
                        watch_failure(w, &res->error);
                return;
        default:
                set_watch_error(w, res->error.summary);
                log_warning("Poll of %s failed: %s", job_describe(j, what), strempty(res->error.summary));
                if (!m->once)
                        job_arm(j, stable_delay(m));
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
                if (watch_pending(w))
                        continue;
                /* Absent from a complete list: a get-one confirms before anything is reported,
                 * since offset paging can skip an item when others come and go meanwhile. */
                if (w->seen_cycle != p->cycle)
                        job_arm(watch_job(w), 0);
                else if (watch_state_wants_fast(&w->state))
                        job_arm(watch_job(w), fast_delay(m));
        }
        plan_cycle_complete(p);
        p->cycle++;
        p->offset = 0;
        p->pages = 0;
        job_arm(&p->job, plan_next_cycle(p));
}

static void page_memo_done(struct page_memo *memo) {
        free(memo->watches);
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
static uint32_t list_item(struct mproject *p, struct watch *w, const struct deployment *d, struct event_list *l) {
        w->seen_cycle = p->cycle;
        w->last_poll = now_usec(CLOCK_REALTIME);
        if (p->job.started < w->observed_at)
                return 0;
        w->observed_at = p->job.started;
        clear_watch_error(w);
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
        if (!streq_ptr(watch_last_error(w), summary) && !p->m->once)
                log_warning("Poll of %s failed: %s; the rest of the list is used", watch_describe(w, what), summary);
        set_watch_error(w, summary);
}

static void list_page(struct mproject *p, struct page_memo *memo, const struct poll_result *res) {
        const struct deployment_page *page = &res->page;
        struct event_list l = {};

        page_memo_done(memo);
        memo->offset = p->offset;
        memo->count = page->count;
        memcpy(memo->digest, res->digest, POLL_DIGEST_SIZE);
        memo->watches = xcalloc(page->n_items, sizeof(struct watch *));
        memo->seqs = xcalloc(page->n_items, sizeof(uint32_t));
        memo->n = page->n_items;
        for (size_t i = 0; i < page->n_items; i++) {
                const struct deployment *d = &page->items[i];
                struct watch *w = watch_find(p, d->name);
                if (!w && !p->cfg->all)
                        continue; /* not named: no watch in the memo */
                if (!w)
                        w = watch_add(p, d->name);
                memo->watches[i] = w;
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
        if (!memo->watches || memo->offset != p->offset || memcmp(memo->digest, res->digest, POLL_DIGEST_SIZE) != 0)
                return false;
        for (size_t i = 0; i < memo->n; i++) {
                const struct watch *w = memo->watches[i];
                if (!w)
                        continue; /* not named */
                if (memo->seqs[i] == 0 || w->obs_seq != memo->seqs[i] || !w->state.snap)
                        return false;
        }
        return true;
}

static void list_page_again(struct mproject *p, struct page_memo *memo) {
        struct event_list l = {};

        for (size_t i = 0; i < memo->n; i++) {
                struct watch *w = memo->watches[i];
                if (!w)
                        continue;
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
        bool more;
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
                /* Every page's count, the last page's too, may change a named project's plan. */
                more = plan_page(p, count);
                if (n_items == 0 || p->offset >= (uint64_t) count || p->pages >= LIST_MAX_PAGES || !more) {
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
                if (rate_hold(&p->job)) {
                        /* Over the account's ceiling: the next page waits for its slot. */
                        job_finished(&p->job);
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
                if (!m->once)
                        plan_list_unusable(p);
                break;
        }
        if (!m->once)
                job_arm(&p->job, p->cfg->all ? stable_delay(m) : plan_next_cycle(p));
}

void job_start(struct job *j) {
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
                r = poll_get(m->http, p->account->cfg, p->cfg->id, job_watch(j)->name,
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
                p->by_name = STRTABLE_INIT(struct watch, name);
                p->job.kind = JOB_LIST;
                p->job.project = p;
                p->account = &m->accounts[c->projects[i].account - c->accounts];
                for (size_t k = 0; k < p->cfg->n_deployments; k++)
                        if (!watch_find(p, p->cfg->deployments[k]))
                                (void) watch_add(p, p->cfg->deployments[k]);
                plan_init(p);
        }
        *ret = m;
        return 0;
}

struct monitor *monitor_free(struct monitor *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                for (size_t k = 0; k < p->n_memos; k++)
                        page_memo_done(&p->memos[k]);
                p->memos = mfree(p->memos);
                p->n_memos = 0;
                while (!TAILQ_EMPTY(&p->watches))
                        watch_remove(TAILQ_FIRST(&p->watches));
                job_stop(&p->job);
                free(p->last_error);
        }
        for (size_t i = 0; i < m->n_accounts; i++)
                sd_event_source_disable_unref(m->accounts[i].backoff_timer);
        schedule_done(m);
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

bool monitor_import_watch(struct monitor *m, struct watch_record *r) {
        struct mproject *p = find_project(m, r->url, r->project_id);
        struct watch *w = p ? watch_find(p, r->name) : NULL;

        if (!w && p && p->cfg->all && !r->state.gone)
                w = watch_add(p, r->name);
        if (!w)
                return false;
        watch_state_done(&w->state);
        w->state = r->state;
        if (w->state.snap) {
                /* Named by the watch's name, as diff_observe() names what it stores. */
                struct deployment *own = w->state.snap;
                w->state.snap = deployment_dup_borrowing(own, w->name);
                deployment_free(own);
        }
        w->last_poll = r->last_poll;
        clear_watch_error(w);
        if (r->last_error)
                watch_extra(w)->last_error = r->last_error;
        free(r->url);
        free(r->name);
        free(r->account);
        *r = (struct watch_record) {};
        return true;
}

void monitor_import(struct monitor *m, struct saved_state *s) {
        size_t kept = 0;

        for (size_t i = 0; i < s->n_watches; i++)
                if (!monitor_import_watch(m, &s->watches[i]))
                        s->watches[kept++] = s->watches[i];
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

/* A record that points into the monitor (valid until it changes). */
static void view_record(const struct mproject *p, const struct watch *w, struct watch_record *r) {
        *r = (struct watch_record) {
                .url = (char *) p->account->cfg->url,
                .project_id = p->cfg->id,
                .name = (char *) w->name,
                .account = (char *) p->account->cfg->name,
                .state = w->state,
                .last_poll = w->last_poll,
                .last_error = (char *) watch_last_error(w),
        };
}

static size_t count_watches(const struct monitor *m) {
        const struct watch *w;
        size_t n = 0;

        for (size_t i = 0; i < m->n_projects; i++)
                TAILQ_FOREACH(w, &m->projects[i].watches, link)
                        n++;
        return n;
}

static int each_watch(const void *source, int (*fn)(const struct watch_record *r, void *userdata), void *userdata) {
        const struct monitor *m = source;
        const struct watch *w;
        struct watch_record r;
        int k;

        for (size_t i = 0; i < m->n_projects; i++)
                TAILQ_FOREACH(w, &m->projects[i].watches, link) {
                        view_record(&m->projects[i], w, &r);
                        if ((k = fn(&r, userdata)) < 0)
                                return k;
                }
        return 0;
}

enum export_mode {
        EXPORT_COPY,              /* records of their own */
        EXPORT_VIEW,              /* records that point into the monitor */
        EXPORT_STREAM,            /* no records: each_watch() makes them one at a time */
};

static void export(const struct monitor *m, enum export_mode mode, struct saved_state *ret) {
        struct saved_state s = { .written = now_usec(CLOCK_REALTIME), .pid = getpid(),
                                 .watches_borrowed = mode != EXPORT_COPY };
        const struct watch *w;

        if (mode == EXPORT_STREAM) {
                s.n_watches = count_watches(m);
                s.each_watch = each_watch;
                s.watch_source = m;
        } else
                /* At its exact size: grown geometrically, an array of 100,000 records would
                 * reach twice what it holds. */
                s.watches = xcalloc(MAX(count_watches(m), 1u), sizeof(struct watch_record));
        for (size_t i = 0; i < m->n_projects; i++) {
                const struct mproject *p = &m->projects[i];
                struct project_record *pr = array_append(&s.projects, &s.n_projects, sizeof(*pr));
                pr->url = xstrdup(p->account->cfg->url);
                pr->project_id = p->cfg->id;
                pr->auth_failed = p->auth_failed;
                TAILQ_FOREACH(w, &p->watches, link) {
                        struct watch_record *r;
                        if (mode == EXPORT_STREAM)
                                break;
                        r = array_append(&s.watches, &s.n_watches, sizeof(*r));
                        view_record(p, w, r);
                        if (mode == EXPORT_VIEW)
                                continue;
                        r->url = xstrdup(r->url);
                        r->name = xstrdup(r->name);
                        r->account = xstrdup(r->account);
                        watch_state_copy(&r->state, &w->state);
                        r->last_error = xstrdup(r->last_error);
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
        export(m, EXPORT_COPY, ret);
}

void monitor_view(const struct monitor *m, struct saved_state *ret) {
        export(m, EXPORT_VIEW, ret);
}

void monitor_stream(const struct monitor *m, struct saved_state *ret) {
        export(m, EXPORT_STREAM, ret);
}

int monitor_start(struct monitor *m) {
        usec_t spread = m->once ? 0 : MIN(m->cfg->interval, USEC_PER_SEC);

        for (size_t i = 0; i < m->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                if (project_lists(p))
                        job_arm(&p->job, random_below(spread));
                struct watch *w;
                TAILQ_FOREACH(w, &p->watches, link)
                        if (!project_lists(p) || (!m->once && watch_state_wants_fast(&w->state)))
                                job_arm(watch_job(w), random_below(spread));
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
                        if (w->state.alert)
                                c.alerts_open++;
                        if (watch_last_error(w))
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
                        fn(p->account->cfg->name, p->cfg->id, w->name, &w->state, watch_last_error(w), userdata);
        }
}

struct alert_state *monitor_open_alert(struct monitor *m, const char *account, int64_t project_id, const char *name) {
        for (size_t i = 0; i < m->n_projects; i++) {
                struct mproject *p = &m->projects[i];
                struct watch *w;
                if (p->cfg->id != project_id || !streq(p->account->cfg->name, strempty(account)))
                        continue;
                w = watch_find(p, name);
                if (w && w->state.alert)
                        return w->state.alert;
        }
        return NULL;
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
                           .delayed = a->delayed,
                   }, userdata);
        }
}
