#include "metrics-collect.h"

/* The labels of a deployment's series: account, project, deployment. */
#define DEPLOYMENT_PAIRS 3

struct walk {
        FILE *f;
        const char *name;         /* the family being written */
};

static void deployment_pairs(const struct monitor_watch_info *w, char project[static 24],
                             const char *pairs[static 2 * DEPLOYMENT_PAIRS]) {
        snprintf(project, 24, "%" PRIi64, w->project_id);
        pairs[0] = "account";
        pairs[1] = w->account;
        pairs[2] = "project";
        pairs[3] = project;
        pairs[4] = "deployment";
        pairs[5] = w->name;
}

static void write_health(const struct monitor_watch_info *w, void *userdata) {
        struct walk *k = userdata;
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24];

        deployment_pairs(w, project, pairs);
        for (enum health h = 0; h < _HEALTH_MAX; h++)
                metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, "health", health_to_string(h),
                                w->state->health == h);
}

static void write_status(const struct monitor_watch_info *w, void *userdata) {
        struct walk *k = userdata;
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24];

        if (!w->state->snap)
                return;
        deployment_pairs(w, project, pairs);
        for (enum deploy_status st = 0; st < _STATUS_MAX; st++)
                metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, "status", deploy_status_to_string(st),
                                w->state->snap->status_enum == st);
}

enum region_figure { REGION_READY, REGION_TOTAL, REGION_ERROR };

static void write_regions(const struct monitor_watch_info *w, struct walk *k, enum region_figure what) {
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24], region[24];

        if (!w->state->snap)
                return;
        deployment_pairs(w, project, pairs);
        for (size_t i = 0; i < w->state->snap->n_containers; i++) {
                const struct container *c = &w->state->snap->containers[i];
                double v = what == REGION_READY ? (double) c->ready :
                           what == REGION_TOTAL ? (double) c->total : (double) !!c->error_message;
                snprintf(region, sizeof(region), "%" PRIi64, c->region_id);
                metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, "region", region, v);
        }
}

static void write_ready(const struct monitor_watch_info *w, void *userdata) {
        write_regions(w, userdata, REGION_READY);
}

static void write_total(const struct monitor_watch_info *w, void *userdata) {
        write_regions(w, userdata, REGION_TOTAL);
}

static void write_region_error(const struct monitor_watch_info *w, void *userdata) {
        write_regions(w, userdata, REGION_ERROR);
}

static void write_alert_open(const struct monitor_watch_info *w, void *userdata) {
        struct walk *k = userdata;
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24];

        deployment_pairs(w, project, pairs);
        metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, NULL, NULL, w->state->alert.open);
}

static void write_alert_start(const struct monitor_watch_info *w, void *userdata) {
        struct walk *k = userdata;
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24];

        if (!w->state->alert.open)
                return;
        deployment_pairs(w, project, pairs);
        metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, "severity", w->state->alert.severity,
                        (double) w->state->alert.started / USEC_PER_SEC);
}

static void write_observed(const struct monitor_watch_info *w, void *userdata) {
        struct walk *k = userdata;
        const char *pairs[2 * DEPLOYMENT_PAIRS];
        char project[24];

        if (w->observed == 0)
                return;
        deployment_pairs(w, project, pairs);
        metrics_samplev(k->f, k->name, NULL, pairs, DEPLOYMENT_PAIRS, NULL, NULL, (double) w->observed / USEC_PER_SEC);
}

static void deployment_family(FILE *f, const struct monitor *m, const char *name, const char *help,
                              monitor_watch_info_fn fn) {
        struct walk k = { .f = f, .name = name };

        metrics_family(f, name, "gauge", help);
        monitor_foreach_watch(m, fn, &k);
}

static void write_deployments(FILE *f, const struct monitor *m) {
        deployment_family(f, m, "inferwatch_deployment_health",
                          "Derived health of the deployment: 1 for the current state, 0 for the others.", write_health);
        deployment_family(f, m, "inferwatch_deployment_status",
                          "Raw status the API reports: 1 for the current one, 0 for the others.", write_status);
        deployment_family(f, m, "inferwatch_deployment_region_ready_instances",
                          "Ready instances of the deployment in a region.", write_ready);
        deployment_family(f, m, "inferwatch_deployment_region_instances",
                          "Instances the deployment wants in a region (ready or not).", write_total);
        deployment_family(f, m, "inferwatch_deployment_region_error",
                          "Whether the region reports an error for the deployment.", write_region_error);
        deployment_family(f, m, "inferwatch_deployment_alert_open",
                          "Whether an alert is open for the deployment.", write_alert_open);
        deployment_family(f, m, "inferwatch_deployment_alert_start_time_seconds",
                          "When the open alert of the deployment started, in seconds since the epoch.", write_alert_start);
        deployment_family(f, m, "inferwatch_deployment_last_observation_timestamp_seconds",
                          "When the deployment was last observed by a successful poll, in seconds since the epoch.",
                          write_observed);
}

enum account_figure { ACCOUNT_UP, ACCOUNT_BACKOFF, ACCOUNT_FAILURES, ACCOUNT_REQUESTS, ACCOUNT_DURATION };

struct account_walk {
        FILE *f;
        const char *name;
        enum account_figure what;
};

static void write_account(const struct monitor_account_info *a, void *userdata) {
        struct account_walk *k = userdata;
        const char *pairs[] = { "account", a->name };

        switch (k->what) {
        case ACCOUNT_UP:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, !a->api->unreachable);
                break;
        case ACCOUNT_BACKOFF:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, a->backing_off);
                break;
        case ACCOUNT_FAILURES:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, a->api->failures);
                break;
        case ACCOUNT_REQUESTS:
                for (enum api_outcome o = 0; o < _API_OUTCOME_MAX; o++)
                        metrics_samplev(k->f, k->name, NULL, pairs, 1, "outcome", api_outcome_to_string(o),
                                        (double) a->requests[o]);
                break;
        case ACCOUNT_DURATION:
                metrics_histogram_write(k->f, k->name, a->duration, pairs, 1);
                break;
        }
}

static void account_family(FILE *f, const struct monitor *m, const char *name, const char *type,
                           const char *help, enum account_figure what) {
        struct account_walk k = { .f = f, .name = name, .what = what };

        metrics_family(f, name, type, help);
        monitor_foreach_account(m, write_account, &k);
}

static void write_accounts(FILE *f, const struct monitor *m) {
        account_family(f, m, "inferwatch_api_up", "gauge",
                       "Whether the account's API answers (0 once api.unreachable was reported).", ACCOUNT_UP);
        account_family(f, m, "inferwatch_api_backoff", "gauge",
                       "Whether the poller is backing off the account's API after a failure.", ACCOUNT_BACKOFF);
        account_family(f, m, "inferwatch_api_consecutive_failures", "gauge",
                       "Failed polls of the account's API in a row.", ACCOUNT_FAILURES);
        account_family(f, m, "inferwatch_api_requests_total", "counter",
                       "API requests finished, by outcome.", ACCOUNT_REQUESTS);
        account_family(f, m, "inferwatch_api_request_duration_seconds", "histogram",
                       "Duration of API requests.", ACCOUNT_DURATION);
}

enum webhook_figure { HOOK_DELIVERIES, HOOK_FAILED, HOOK_BACKLOG, HOOK_BYTES, HOOK_OLDEST, HOOK_DISABLED };

struct webhook_walk {
        FILE *f;
        const char *name;
        enum webhook_figure what;
};

static void write_webhook(const struct webhook_figures *w, void *userdata) {
        struct webhook_walk *k = userdata;
        const char *pairs[] = { "webhook", w->name };

        switch (k->what) {
        case HOOK_DELIVERIES:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, "result", "delivered", (double) w->delivered);
                metrics_samplev(k->f, k->name, NULL, pairs, 1, "result", "dropped", (double) w->dropped);
                break;
        case HOOK_FAILED:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, (double) w->failed);
                break;
        case HOOK_BACKLOG:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, (double) w->backlog);
                break;
        case HOOK_BYTES:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, (double) w->backlog_bytes);
                break;
        case HOOK_OLDEST:
                if (w->oldest > 0)
                        metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, (double) w->oldest / USEC_PER_SEC);
                break;
        case HOOK_DISABLED:
                metrics_samplev(k->f, k->name, NULL, pairs, 1, NULL, NULL, w->disabled);
                break;
        }
}

static void webhook_family(FILE *f, const struct webhooks *w, const char *name, const char *type,
                           const char *help, enum webhook_figure what) {
        struct webhook_walk k = { .f = f, .name = name, .what = what };

        metrics_family(f, name, type, help);
        webhooks_foreach(w, write_webhook, &k);
}

static void write_webhooks(FILE *f, const struct webhooks *w) {
        webhook_family(f, w, "inferwatch_webhook_deliveries_total", "counter",
                       "Events delivered to the webhook, or dropped (spool bounds, refused).", HOOK_DELIVERIES);
        webhook_family(f, w, "inferwatch_webhook_failed_attempts_total", "counter",
                       "Delivery attempts that failed and were retried.", HOOK_FAILED);
        webhook_family(f, w, "inferwatch_webhook_backlog_events", "gauge",
                       "Events waiting in the webhook's spool.", HOOK_BACKLOG);
        webhook_family(f, w, "inferwatch_webhook_backlog_bytes", "gauge",
                       "Size of the events waiting in the webhook's spool.", HOOK_BYTES);
        webhook_family(f, w, "inferwatch_webhook_oldest_event_timestamp_seconds", "gauge",
                       "When the oldest undelivered event was spooled, in seconds since the epoch.", HOOK_OLDEST);
        webhook_family(f, w, "inferwatch_webhook_disabled", "gauge",
                       "Whether the webhook is disabled (it answered 410 Gone) until a reload.", HOOK_DISABLED);
}

static void write_events(FILE *f, const uint64_t *events) {
        metrics_family(f, "inferwatch_events_total", "counter", "Events emitted, by type.");
        for (enum event_type t = 0; t < _EVENT_TYPE_MAX; t++)
                metrics_sample(f, "inferwatch_events_total", (double) events[t], "type", event_type_to_string(t), NULL);
}

int metrics_collect(FILE *f, const struct metrics_sources *s) {
        metrics_family(f, "inferwatch_build_info", "gauge", "Version of inferwatchd, always 1.");
        metrics_sample(f, "inferwatch_build_info", 1, "version", PACKAGE_VERSION, NULL);
        write_deployments(f, s->monitor);
        write_accounts(f, s->monitor);
        if (s->webhooks)
                write_webhooks(f, s->webhooks);
        write_events(f, s->events);
        return metrics_write_process(f);
}
