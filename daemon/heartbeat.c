#include "heartbeat.h"
#include "log.h"
#include "monitor.h"

struct heartbeat {
        const struct config *cfg;
        struct http_client *http;
        sd_event_source *timer;
        struct http_request *req;     /* the ping in flight */
        struct monitor *const *monitor;
        usec_t last_tick;             /* CLOCK_REALTIME */
        bool failing;                 /* the last ping failed: said once, not every interval */
};

static void check_observed(const struct monitor_watch_info *w, void *userdata) {
        usec_t *since = userdata;

        if (w->observed < *since)
                *since = USEC_INFINITY; /* at least one was not */
}

enum heartbeat_verdict heartbeat_verdict(const struct monitor *m, usec_t since) {
        struct monitor_counts c;

        monitor_count(m, &c);
        if (c.accounts_unreachable > 0 || c.projects_auth_failed > 0)
                return HEARTBEAT_FAIL;
        monitor_foreach_watch(m, check_observed, &since);
        return since == USEC_INFINITY ? HEARTBEAT_NONE : HEARTBEAT_OK;
}

static void on_pinged(const struct http_response *resp, void *userdata) {
        struct heartbeat *h = userdata;
        _cleanup_free_ char *what = NULL;

        h->req = NULL;
        if (resp->result == CURLE_OK && resp->status >= 200 && resp->status < 300) {
                if (h->failing)
                        log_info("Heartbeat pings are answered again");
                h->failing = false;
                return;
        }
        /* The URL is a capability: never in the log. */
        what = http_response_describe(resp);
        log_full(h->failing ? LOG_DEBUG : LOG_WARNING, "Heartbeat ping failed: %s", what);
        h->failing = true;
}

static void ping(struct heartbeat *h, const char *url) {
        struct http_request_options o = {
                .url = url,
                .connect_timeout = MIN(h->cfg->heartbeat.timeout, 10 * USEC_PER_SEC),
                .timeout = h->cfg->heartbeat.timeout,
                .max_size = 4096,
                .truncate = true,
        };
        int r;

        if (!url)
                return;
        /* A ping still in flight after a whole interval is given up for the new one. */
        http_request_cancel(TAKE_PTR(h->req));
        r = http_request_start(h->http, &o, on_pinged, h, &h->req);
        if (r < 0) {
                h->req = NULL;
                log_warning_errno(r, "Failed to start a heartbeat ping: %m");
        }
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct heartbeat *h = userdata;
        usec_t now = now_usec(CLOCK_REALTIME);
        /* Polls come at most interval apart, give or take a response's time. */
        usec_t since = h->last_tick - MIN(h->last_tick, h->cfg->interval / 10);

        switch (*h->monitor ? heartbeat_verdict(*h->monitor, since) : HEARTBEAT_NONE) {
        case HEARTBEAT_OK:
                ping(h, h->cfg->heartbeat.url);
                break;
        case HEARTBEAT_FAIL:
                ping(h, h->cfg->heartbeat.fail_url);
                break;
        default:
                break;
        }
        h->last_tick = now;
        (void) sd_event_source_set_time_relative(s, h->cfg->interval);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int heartbeat_new(sd_event *event, struct http_client *http, const struct config *c,
                  struct monitor *const *monitor, struct heartbeat **ret) {
        struct heartbeat *h;
        int r;

        if (!c->heartbeat.url && !c->heartbeat.fail_url)
                return -ENOENT;
        h = xcalloc(1, sizeof(*h));
        h->cfg = c;
        h->http = http;
        h->monitor = monitor;
        h->last_tick = now_usec(CLOCK_REALTIME);
        r = sd_event_add_time_relative(event, &h->timer, CLOCK_MONOTONIC, c->interval, USEC_PER_SEC / 10, on_tick,
                                       h);
        if (r < 0) {
                heartbeat_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

struct heartbeat *heartbeat_free(struct heartbeat *h) {
        if (!h)
                return NULL;
        http_request_cancel(h->req);
        sd_event_source_disable_unref(h->timer);
        free(h);
        return NULL;
}
