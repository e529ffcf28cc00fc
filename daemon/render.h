/* Webhook payloads: the JSON envelope, Slack incoming-webhook messages and Alertmanager API v2
 * alerts. Pure functions of events. */
#pragma once

#include "config.h"
#include "diff.h"
#include "event.h"

/* Whether a webhook of this format has anything to say about the event (Alertmanager only
 * hears about alerts). */
bool render_wants(enum webhook_format f, const struct event *e);
/* The request body for one event. */
char *render_event(enum webhook_format f, const struct event *e);

/* Alertmanager: the alert as it stands, for the periodic re-post of open alerts. */
struct am_alert {
        int64_t project_id;
        const char *deployment;
        const char *status;
        enum health health;
        const struct alert_state *alert;
        const char *log_tail;     /* the failing region's last log lines, or NULL */
};
/* A JSON array of alerts, for POST /api/v2/alerts. */
char *render_alertmanager_open(const struct am_alert *alerts, size_t n);
/* Appends /api/v2/alerts to an Alertmanager base URL unless it is there already. */
char *render_alertmanager_url(const char *base);
