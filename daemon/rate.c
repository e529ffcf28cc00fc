/* The account's request-rate ceiling (max_requests_per_second): polls start at least 1/rate
 * apart. One that would come too early reserves the next free slot and waits for it on its own
 * timer: delayed, never dropped. Polls that keep waiting for longer than the interval are a
 * sustained excess, said once until they catch up. */
#include "log.h"
#include "monitor-internal.h"

static void rate_caught_up(struct maccount *a) {
        if (a->rate_warned)
                log_info("Polls of API %s keep within max_requests_per_second=%u again", a->cfg->name,
                         a->cfg->max_requests_per_second);
        a->rate_busy_since = 0;
        a->rate_warned = false;
}

/* Whether j waits for a slot (its timer armed for it) instead of starting now. */
bool rate_hold(struct job *j) {
        struct maccount *a = j->project->account;
        struct monitor *m = a->m;
        unsigned rate = a->cfg->max_requests_per_second;
        usec_t now = now_usec(CLOCK_MONOTONIC), step, slot;
        char b[32];

        if (rate == 0)
                return false;
        if (j->rate_slot != 0) {
                /* The timer of a reserved slot fired (never early): its request goes. */
                slot = j->rate_slot;
                j->rate_slot = 0;
                if (slot <= now)
                        return false;
        }
        step = USEC_PER_SEC / rate;
        if (a->rate_next <= now) {
                a->rate_next = now + step;
                rate_caught_up(a);
                return false;
        }
        slot = a->rate_next;
        a->rate_next += step;
        j->rate_slot = slot;
        a->delayed++;
        if (a->rate_busy_since == 0)
                a->rate_busy_since = now;
        if (!a->rate_warned && now - a->rate_busy_since >= m->cfg->interval) {
                a->rate_warned = true;
                log_warning("Polls of API %s need more than max_requests_per_second=%u: they are delayed, "
                            "by %s now", a->cfg->name, rate, format_duration(b, slot - now));
        }
        job_arm(j, slot - now);
        return true;
}
