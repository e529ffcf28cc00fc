/* The request plan of a project with named deployments: one get-one per name and interval, or
 * the list endpoint when its pages (the list's count over page_size) take fewer requests. The
 * list cycle then runs as often as the get-one plan's request rate would allow, but at most ten
 * times per interval (a page carries many bodies) and never faster than fast_interval: stable
 * deployments are seen sooner at the same or a lower request rate. Named deployments the list
 * does not show are confirmed by get-one (monitor.c), and transitional ones polled by get-one at
 * fast_interval, as in a "*" project. Under the get-one plan, the first page is fetched every
 * PLAN_PROBE_CYCLES intervals to learn whether the count changed. */
#include "log.h"
#include "monitor-internal.h"

#define PLAN_PROBE_CYCLES 10

bool project_lists(const struct mproject *p) {
        return p->cfg->all || p->plan == PLAN_LIST;
}

static uint64_t plan_pages(const struct mproject *p, int64_t count) {
        unsigned size = p->account->cfg->page_size;

        return count <= 0 ? 1 : ((uint64_t) count + size - 1) / size;
}

/* The named deployments the last complete cycle did not list cost a get-one each per interval
 * under either plan: the list saves requests when its pages are fewer than the others. */
static enum request_plan plan_choose(const struct mproject *p) {
        if (!p->account->cfg->list_named_deployments)
                return PLAN_GET;
        return plan_pages(p, p->count) + p->n_unlisted < p->n_named ? PLAN_LIST : PLAN_GET;
}

/* The count is not known before a first page: with two names or more, that page is cheaper
 * than the get-ones it may replace. (--once polls each name once: by get-one; and so does an
 * account with list_named_deployments = false.) */
void plan_init(struct mproject *p) {
        struct watch *w;

        p->count = -1;
        p->n_named = 0;
        p->n_unlisted = 0;
        TAILQ_FOREACH(w, &p->watches, link)
                p->n_named++;
        p->plan = !p->cfg->all && !p->m->once && p->n_named >= 2 && p->account->cfg->list_named_deployments
                ? PLAN_LIST : PLAN_GET;
}

static void plan_log(const struct mproject *p) {
        uint64_t pages = plan_pages(p, p->count);

        if (p->plan == PLAN_LIST)
                log_info("Project %lld (account %s): %zu named deployments observed through the list endpoint, "
                         "%llu page%s of %u per cycle (%lld deployments) instead of %zu get-one requests",
                         (long long) p->cfg->id, p->account->cfg->name, p->n_named, (unsigned long long) pages,
                         pages == 1 ? "" : "s", p->account->cfg->page_size, (long long) p->count, p->n_named);
        else
                log_info("Project %lld (account %s): %zu named deployments polled by get-one; the list endpoint "
                         "would take %llu pages of %u (%lld deployments), and %zu of them are not listed",
                         (long long) p->cfg->id, p->account->cfg->name, p->n_named, (unsigned long long) pages,
                         p->account->cfg->page_size, (long long) p->count, p->n_unlisted);
}

/* Arms the get-one of every named deployment that waits for nothing: soon for those the cycle
 * did not see, at the interval for those it did. */
static void plan_to_get(struct mproject *p) {
        struct monitor *m = p->m;
        usec_t spread = MIN(m->cfg->interval, USEC_PER_SEC);
        struct watch *w;

        TAILQ_FOREACH(w, &p->watches, link) {
                if (watch_pending(w))
                        continue;
                if (w->seen_cycle == p->cycle && !watch_state_wants_fast(&w->state))
                        job_arm(watch_job(w), stable_delay_since(m, p->cycle_started));
                else
                        job_arm(watch_job(w), random_below(spread));
        }
}

/* After each page of a named project's list: re-decides the plan when the count changed.
 * Returns false when the cycle ends here (the get-one plan needs no more pages). */
bool plan_page(struct mproject *p, int64_t count) {
        enum request_plan was = p->plan;
        bool known = p->count >= 0;

        if (p->cfg->all)
                return true;
        if (count != p->count) {
                p->count = count;
                p->plan = plan_choose(p);
                if (!known || p->plan != was)
                        plan_log(p);
        }
        if (p->plan == PLAN_LIST)
                return true;
        if (was == PLAN_LIST)
                plan_to_get(p);
        return false;
}

/* A list whose body cannot be used leaves nobody observed: back to get-one, the list tried
 * again at the next probe. */
void plan_list_unusable(struct mproject *p) {
        if (p->cfg->all || p->plan == PLAN_GET)
                return;
        p->plan = PLAN_GET;
        log_info("Project %lld (account %s): %zu named deployments polled by get-one while the list fails",
                 (long long) p->cfg->id, p->account->cfg->name, p->n_named);
        plan_to_get(p);
}

/* At the end of a complete list cycle (before the next one's number): counts the named
 * deployments it did not list, and re-decides with them. */
void plan_cycle_complete(struct mproject *p) {
        struct watch *w;

        if (p->cfg->all || p->plan != PLAN_LIST)
                return;
        p->n_unlisted = 0;
        TAILQ_FOREACH(w, &p->watches, link)
                if (w->seen_cycle != p->cycle)
                        p->n_unlisted++;
        p->plan = plan_choose(p);
        if (p->plan == PLAN_LIST)
                return;
        plan_log(p);
        plan_to_get(p);
}

/* When the next list cycle starts, counted from the start of the last one. */
usec_t plan_next_cycle(struct mproject *p) {
        const struct config *c = p->m->cfg;
        usec_t period, floor, elapsed, now = now_usec(CLOCK_MONOTONIC);

        if (p->cfg->all)
                return stable_delay_since(p->m, p->cycle_started);
        if (p->plan == PLAN_GET)
                return jitter(PLAN_PROBE_CYCLES * c->interval, 0.1);
        floor = MAX(c->interval / 10, c->fast_interval);
        period = c->interval * plan_pages(p, p->count) / MAX(p->n_named - MIN(p->n_unlisted, p->n_named), (size_t) 1);
        period = MIN(MAX(period, floor), c->interval);
        /* Within the last tenth of the period, as stable_delay_since() does with the interval. */
        period -= period / 50 + random_below(period / 12 + 1);
        elapsed = now - MIN(p->cycle_started, now);
        return period > elapsed ? period - elapsed : 0;
}
