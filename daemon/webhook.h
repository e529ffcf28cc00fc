/* Webhook delivery: every accepted event is spooled on disk first, then delivered in order,
 * one request at a time per webhook, over the daemon's HTTP client; retried with capped
 * exponential backoff and jitter, honouring Retry-After; signed per Standard Webhooks. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "http.h"
#include "render.h"
#include "state.h"

struct webhooks;

/* Open alerts for the Alertmanager re-post: fills *ret (an array the caller frees, with
 * pointers into live state valid until the loop runs again). */
typedef void (*webhooks_alerts_fn)(void *userdata, struct am_alert **ret, size_t *n);

/* Opens every webhook's spool under <state_directory>/spool/; counters are taken from saved. */
int webhooks_new(sd_event *event, struct http_client *http, const struct config *c, const struct saved_state *saved,
                 webhooks_alerts_fn alerts, void *alerts_userdata, struct webhooks **ret);
/* Cancels what is in flight (it is delivered again later: at-least-once). NULL-safe. */
struct webhooks *webhooks_free(struct webhooks *w);

/* Whether this webhook wants this event: its filters and its format. Pure, for tests. */
bool webhook_accepts(const struct webhook *cfg, const struct event *e);

/* Spools e for every webhook that accepts it. */
void webhooks_offer(struct webhooks *w, const struct event *e);
/* Makes the spooled events durable, applies the spool bounds, starts deliveries. Returns 0, or
 * the negative errno of a sync that failed (logged): the events are then not known durable. */
int webhooks_commit(struct webhooks *w);
/* Events the webhooks themselves produced (webhook.dropped, webhook.disabled), for the log. */
void webhooks_take_events(struct webhooks *w, struct event_list *out);

void webhooks_export(const struct webhooks *w, struct saved_state *s);
/* Webhooks with undelivered events that they still try to deliver: a webhook disabled by a
 * 410 Gone keeps its spool until a reload, but is no backlog (its events wait for no one). */
size_t webhooks_backlogged(const struct webhooks *w);
/* Counts the events of l that each webhook would have taken as dropped by its spool (reason:
 * for webhook.dropped): events that never reached the spools, beyond their limits. */
void webhooks_count_dropped(struct webhooks *w, const struct event_list *l, const char *reason);
/* Whether the last commit or delivery changed what --status shows. */
bool webhooks_take_dirty(struct webhooks *w);

/* For /metrics: one webhook's figures. */
struct webhook_figures {
        const char *name;
        uint64_t delivered, dropped; /* since the state was created (saved across restarts) */
        uint64_t failed;          /* attempts failed and retried, since the daemon started */
        uint64_t backlog, backlog_bytes;
        usec_t oldest;            /* CLOCK_REALTIME when the oldest undelivered event was spooled; 0 none */
        bool disabled;
};
typedef void (*webhooks_figures_fn)(const struct webhook_figures *f, void *userdata);
void webhooks_foreach(const struct webhooks *w, webhooks_figures_fn fn, void *userdata);
