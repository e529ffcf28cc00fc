/* Webhook payloads: the JSON envelope, Slack incoming-webhook messages and Alertmanager API v2
 * alerts. Pure functions of events. */
#pragma once

#include "config.h"
#include "diff.h"
#include "event.h"

/* Whether a webhook of this format has anything to say about the event (Alertmanager only
 * hears about alerts). */
bool render_wants(enum webhook_format f, const struct event *e);
/* The request body for one event (an Alertmanager alert still open ends AM_DEFAULT_HOLD after
 * the event, as if posted then). */
char *render_event(enum webhook_format f, const struct event *e);

/* Alertmanager resolves an alert at its endsAt. Every post of an open alert carries one a few
 * re-post periods ahead (Prometheus uses 4 resend periods), renewed by each re-post: resolution
 * never depends on Alertmanager's resolve_timeout, and a daemon that dies leaves its alerts
 * firing that long, not resolved. */
#define AM_HOLD_PERIODS 4
#define AM_DEFAULT_HOLD (4 * 60 * USEC_PER_SEC)
/* One alert.* event as Alertmanager alerts posted at now; an open one ends at open_until. */
char *render_alertmanager_event(const struct event *e, usec_t now, usec_t open_until);

/* Whether a webhook of this format posts the event when its events filter names the type (the
 * filter then decides): Alertmanager turns api.unreachable and api.auth_failed into alerts, and
 * the api.recovered that ends them into their end, only when asked to. */
bool render_wants_if_named(enum webhook_format f, const struct event *e);

/* Alertmanager: the alert as it stands, for the periodic re-post of open alerts. */
enum am_kind {
        AM_DEPLOYMENT,            /* project_id, deployment, status, health, alert */
        AM_API_UNREACHABLE,       /* account, since */
        AM_API_AUTH_FAILED,       /* account, project_id */
};

struct region_directory;
struct am_alert {
        enum am_kind kind;
        const char *account;
        usec_t since;             /* API alerts: CLOCK_REALTIME when it began, as far as known */
        int64_t project_id;
        const char *deployment;
        const char *status;
        enum health health;
        const struct alert_state *alert; /* with the context its alert.firing carried */
        bool without_tail;        /* the webhook's log_tail = false: the tail left out */
        const struct region_directory *regions; /* the account's, for region_names; may be NULL */
};
/* A JSON array of alerts, for POST /api/v2/alerts, each ending at open_until; first the
 * always-firing InferwatchWatchdog alert, started at watchdog_since, unless that is 0. */
char *render_alertmanager_open(const struct am_alert *alerts, size_t n, usec_t watchdog_since, usec_t open_until);
/* Appends /api/v2/alerts to an Alertmanager base URL unless it is there already. */
char *render_alertmanager_url(const char *base);
