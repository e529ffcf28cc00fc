/* The poller's scheduling: when each job runs (timers, the bounded run queue), the per-account
 * backoff after API failures (Retry-After, the one probe, unreachable and recovered), and the
 * backoff of a deployment that fails on its own while the rest of its account is polled. */
#include "log.h"
#include "monitor-internal.h"

/* Backoff of an account whose API fails, and of a deployment that fails on its own: 0.5 s
 * doubling, capped at the poll interval, less up to 25 % jitter (the official SDKs' curve);
 * Retry-After may lengthen it, up to API_RETRY_AFTER_MAX: a monitor blind for longer is worse
 * than one probe request every ten minutes to an API that throttles. */
#define BACKOFF_BASE (USEC_PER_SEC / 2)
#define API_RETRY_AFTER_MAX (10 * USEC_PER_MINUTE)
/* Once a deployment was reported unobservable, its own backoff doubles on past the interval, up
 * to this many intervals (and API_RETRY_AFTER_MAX): a deployment that cannot be observed costs a
 * tenth of a healthy one's requests, and its return is seen within ten intervals. */
#define UNOBSERVABLE_SLOWDOWN 10

static void job_unqueue(struct monitor *m, struct job *j);
static void job_unpark(struct job *j);

static bool timer_enabled(sd_event_source *s) {
        int enabled = SD_EVENT_OFF;

        (void) sd_event_source_get_enabled(s, &enabled);
        return enabled != SD_EVENT_OFF;
}

static void heap_remove(struct monitor *m, struct job *j);
static void clock_rearm(struct monitor *m);

void job_stop(struct job *j) {
        struct monitor *m = j->project->m;

        if (j->slot) {
                heap_remove(m, j);
                clock_rearm(m);
        }
        http_request_cancel(TAKE_PTR(j->req));
        if (j->queued)
                job_unqueue(m, j);
        if (j->parked)
                job_unpark(j);
}

static struct maccount *job_account(struct job *j) {
        return j->project->account;
}

const char *watch_describe(const struct watch *w, char buf[static 256]) {
        snprintf(buf, 256, "%s (project %lld)", w->name, (long long) w->project->cfg->id);
        return buf;
}

const char *job_describe(struct job *j, char buf[static 256]) {
        if (j->kind == JOB_GET)
                return watch_describe(job_watch(j), buf);
        snprintf(buf, 256, "list of project %lld", (long long) j->project->cfg->id);
        return buf;
}

/* The armed jobs wait in one binary heap, earliest due first, under one timer: a wake-up starts
 * every job due by then, and the clock wakes up a small window after the earliest due time, so
 * that the polls due within it share one loop iteration (sd-event dispatches one source per
 * iteration, each an epoll_wait and a gettid) and one call into curl. No job starts before its
 * due time, none later than the window after it (the per-job timers' accuracy before), so the
 * jitter still spreads the polls (SPEC §2) at that grain. */
static bool heap_before(const struct job *a, const struct job *b) {
        return a->due < b->due;
}

static void heap_put(struct monitor *m, size_t i, struct job *j) {
        m->armed[i] = j;
        j->slot = i + 1;
}

static void heap_up(struct monitor *m, size_t i) {
        struct job *j = m->armed[i];

        while (i > 0 && heap_before(j, m->armed[(i - 1) / 2])) {
                heap_put(m, i, m->armed[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        heap_put(m, i, j);
}

static void heap_down(struct monitor *m, size_t i) {
        struct job *j = m->armed[i];

        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= m->n_armed)
                        break;
                if (c + 1 < m->n_armed && heap_before(m->armed[c + 1], m->armed[c]))
                        c++;
                if (!heap_before(m->armed[c], j))
                        break;
                heap_put(m, i, m->armed[c]);
                i = c;
        }
        heap_put(m, i, j);
}

static void heap_remove(struct monitor *m, struct job *j) {
        size_t i = j->slot - 1;
        struct job *last = m->armed[--m->n_armed];

        j->slot = 0;
        if (last == j)
                return;
        heap_put(m, i, last);
        heap_up(m, i);
        heap_down(m, last->slot - 1);
}

static void heap_add(struct monitor *m, struct job *j) {
        if (m->n_armed == m->n_armed_alloc) {
                m->n_armed_alloc = MAX(m->n_armed_alloc * 2, (size_t) 64);
                m->armed = xrealloc(m->armed, m->n_armed_alloc * sizeof(struct job *));
        }
        heap_put(m, m->n_armed++, j);
        heap_up(m, m->n_armed - 1);
}

/* The window: 2 % of the shorter interval (the slack stable_delay_since allows for), between
 * 1 ms and 50 ms. */
static usec_t clock_window(const struct monitor *m) {
        usec_t shorter = MIN(m->cfg->interval, m->cfg->fast_interval);

        return MIN(MAX(shorter / 50, USEC_PER_MSEC), 50 * USEC_PER_MSEC);
}

static int on_clock(sd_event_source *s, uint64_t usec, void *userdata);

static void clock_rearm(struct monitor *m) {
        int r;

        /* monitor_free() after the loop ended stops every armed job: sd-event arms nothing
         * any more (-ESTALE), and nothing is left to wake up for. */
        if (sd_event_get_state(m->event) == SD_EVENT_FINISHED)
                return;
        if (m->n_armed == 0) {
                if (m->clock)
                        (void) sd_event_source_set_enabled(m->clock, SD_EVENT_OFF);
                return;
        }
        usec_t at = m->armed[0]->due + clock_window(m);
        if (!m->clock) {
                /* Accuracy 1 µs: the window is the coalescing, sd-event should add none. */
                r = sd_event_add_time(m->event, &m->clock, CLOCK_MONOTONIC, at, 1, on_clock, m);
                if (r >= 0)
                        (void) sd_event_source_set_description(m->clock, "poll-clock");
        } else
                r = sd_event_source_set_time(m->clock, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->clock, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the poll timer: %m");
}

static void job_due(struct job *j);

static int on_clock(sd_event_source *s, uint64_t usec, void *userdata) {
        struct monitor *m = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        /* Only the jobs due now: one that job_due arms again waits for a later wake-up. */
        for (size_t n = m->n_armed; n > 0 && m->n_armed > 0 && m->armed[0]->due <= now; n--) {
                struct job *j = m->armed[0];
                heap_remove(m, j);
                job_due(j);
        }
        /* The requests just added go out now, together, rather than in the next iteration. */
        if (m->http)
                http_client_flush(m->http);
        clock_rearm(m);
        return 0;
}

/* Runs the job after delay, at most clock_window() later. */
void job_arm(struct job *j, usec_t delay) {
        struct monitor *m = j->project->m;
        bool was_first = j->slot == 1;

        if (j->slot)
                heap_remove(m, j);
        j->due = now_usec(CLOCK_MONOTONIC) + delay;
        heap_add(m, j);
        if (was_first || m->armed[0] == j)
                clock_rearm(m);
}

void schedule_done(struct monitor *m) {
        m->clock = sd_event_source_disable_unref(m->clock);
        m->armed = mfree(m->armed);
        m->n_armed = m->n_armed_alloc = 0;
}

bool job_pending(const struct job *j) {
        return j->req || j->queued || j->parked || j->slot;
}

void job_park(struct job *j) {
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

bool account_backing_off(const struct maccount *a) {
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
        if (job_held(j) || rate_hold(j))
                return;
        if (m->in_flight >= m->cfg->max_in_flight) {
                job_enqueue(m, j);
                return;
        }
        job_start(j);
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

int on_backoff_timer(sd_event_source *s, uint64_t usec, void *userdata) {
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
void account_probe_lost(struct maccount *a) {
        a->probe = NULL;
        if (account_backing_off(a) && !timer_enabled(a->backoff_timer)) {
                (void) sd_event_source_set_time_relative(a->backoff_timer, 0);
                (void) sd_event_source_set_enabled(a->backoff_timer, SD_EVENT_ONESHOT);
        }
}

/* A success ends the account's backoff only if its request started after the backoff did: an
 * answer to a request sent before a 429 does not lift that 429's Retry-After. */
void account_success(struct maccount *a, const struct job *j) {
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
void account_failure(struct maccount *a, struct job *j, const struct api_error *err) {
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
bool object_failure_is_account(const struct maccount *a, const struct watch *w) {
        if (w->failures > 0)
                return false;
        return account_backing_off(a) || (a->object_failed && !is_watch_job(a->object_failed, w));
}

/* The cap of a deployment's own backoff: the interval, and once it was reported unobservable,
 * UNOBSERVABLE_SLOWDOWN intervals, at most API_RETRY_AFTER_MAX (never less than the interval). */
static usec_t watch_backoff_cap(usec_t interval, bool unobservable) {
        usec_t cap = MAX(interval, BACKOFF_BASE);

        if (!unobservable)
                return cap;
        return MAX(cap, MIN(UNOBSERVABLE_SLOWDOWN * interval, API_RETRY_AFTER_MAX));
}

/* A deployment that fails on its own is its own problem: logged once, reported as
 * deployment.unobservable once it failed unreachable_after times in a row, retried with its own
 * backoff (capped at the interval, then further once reported), while the rest of the account is
 * polled as usual. While the account itself fails, the outage is what is reported, and the
 * backoff stays within the interval: the deployment is back with the account. */
void watch_failure(struct watch *w, const struct api_error *err) {
        struct job *j = watch_job(w);
        struct maccount *a = w->project->account;
        struct monitor *m = a->m;
        struct event_list l = {};
        char b[32], what[256];
        bool account_fails;
        usec_t delay;

        if (w->failures == 0)
                a->object_failed = j;
        if (a->probe == j)
                account_probe_lost(a);
        w->failures++;
        account_fails = account_backing_off(a) || a->api.unreachable;
        if (!account_fails) {
                diff_unobservable(&m->params, &w->state, a->cfg->name, w->project->cfg->id, w->name, w->failures,
                                  err, now_usec(CLOCK_REALTIME), &l);
                emit(m, &l);
        }
        delay = backoff_delay(BACKOFF_BASE,
                              watch_backoff_cap(m->cfg->interval, !account_fails && w->state.unobservable_since != 0),
                              w->failures, MIN(err->retry_after, API_RETRY_AFTER_MAX));
        log_full(w->failure_reported ? LOG_DEBUG : LOG_WARNING,
                 "Poll of %s failed: %s; retried on its own, the API answers for the others",
                 job_describe(j, what), strempty(err->summary));
        w->failure_reported = true;
        log_debug("Next poll of %s in %s", what, format_duration(b, delay));
        job_arm(j, delay);
}

/* Any answer but a retryable failure ends a deployment's own failures; an observation (200, or
 * 404: gone) ends its being unobservable. */
void watch_answered(struct watch *w, enum api_outcome o) {
        struct mproject *p = w->project;
        struct event_list l = {};
        char what[256];

        if (w->failure_reported && (o == API_OK || o == API_NOT_FOUND))
                log_info("Poll of %s succeeds again after %u failed polls", watch_describe(w, what), w->failures);
        if (o == API_OK || o == API_NOT_FOUND) {
                diff_observable(&w->state, p->account->cfg->name, p->cfg->id, w->name, now_usec(CLOCK_REALTIME), &l);
                emit(p->m, &l);
        }
        w->failures = 0;
        w->failure_reported = false;
}

usec_t stable_delay(const struct monitor *m) {
        return jitter(m->cfg->interval, 0.1);
}

/* The next regular poll of something last polled at started: within the last tenth of the
 * interval before started + interval, so that the jitter spreads polls without ever making a
 * stable deployment wait longer than interval (the timer's 2 % accuracy window included). */
usec_t stable_delay_since(const struct monitor *m, usec_t started) {
        usec_t interval = m->cfg->interval;
        usec_t period = interval - interval / 50 - random_below(interval / 12 + 1);
        usec_t elapsed = now_usec(CLOCK_MONOTONIC) - MIN(started, now_usec(CLOCK_MONOTONIC));

        return period > elapsed ? period - elapsed : 0;
}

usec_t fast_delay(const struct monitor *m) {
        return jitter(m->cfg->fast_interval, 0.05);
}

/* After w's get-one (so w has its job). */
void watch_reschedule(struct watch *w) {
        struct monitor *m = w->project->m;
        struct job *j = watch_job(w);

        if (m->once)
                return;
        if (watch_state_wants_fast(&w->state))
                job_arm(j, fast_delay(m));
        else if (!project_lists(w->project) || w->state.gone)
                job_arm(j, stable_delay_since(m, j->started));
        else
                watch_job_drop(w); /* the project's list covers it every interval */
}

void job_finished(struct job *j) {
        struct monitor *m = j->project->m;

        j->req = NULL;
        m->in_flight--;
        run_queue(m);
}
