#include "metrics-collect.h"

/* One deployment, its labels (account, project, deployment) escaped once for all its series. */
struct row {
        struct monitor_watch_info w;
        char *labels;
};

struct rows {
        struct row *items;
        size_t n;
};

static void add_row(const struct monitor_watch_info *w, void *userdata) {
        struct rows *rows = userdata;
        struct row *r = array_append(&rows->items, &rows->n, sizeof(*r));
        char project[24];

        snprintf(project, sizeof(project), "%" PRIi64, w->project_id);
        r->w = *w;
        r->labels = metrics_format_labels((const char *const[]) { "account", w->account, "project", project,
                                                                  "deployment", w->name }, 3);
}

static void write_health(FILE *f, const char *name, const struct row *r) {
        for (enum health h = 0; h < _HEALTH_MAX; h++)
                metrics_sample_labels(f, name, r->labels, "health", health_to_string(h), r->w.state->health == h);
}

static void write_status(FILE *f, const char *name, const struct row *r) {
        if (!r->w.state->snap)
                return;
        for (enum deploy_status st = 0; st < _STATUS_MAX; st++)
                metrics_sample_labels(f, name, r->labels, "status", deploy_status_to_string(st),
                                      r->w.state->snap->status_enum == st);
}

enum region_figure { REGION_READY, REGION_TOTAL, REGION_ERROR };

static void write_regions(FILE *f, const char *name, const struct row *r, enum region_figure what) {
        const struct deployment *d = r->w.state->snap;
        char region[24];

        for (size_t i = 0; d && i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                double v = what == REGION_READY ? (double) c->ready :
                           what == REGION_TOTAL ? (double) c->total : (double) !!c->error_message;
                snprintf(region, sizeof(region), "%" PRIi64, c->region_id);
                metrics_sample_labels(f, name, r->labels, "region", region, v);
        }
}

static void write_ready(FILE *f, const char *name, const struct row *r) {
        write_regions(f, name, r, REGION_READY);
}

static void write_total(FILE *f, const char *name, const struct row *r) {
        write_regions(f, name, r, REGION_TOTAL);
}

static void write_region_error(FILE *f, const char *name, const struct row *r) {
        write_regions(f, name, r, REGION_ERROR);
}

static void write_alert_open(FILE *f, const char *name, const struct row *r) {
        metrics_sample_labels(f, name, r->labels, NULL, NULL, r->w.state->alert.open);
}

static void write_alert_start(FILE *f, const char *name, const struct row *r) {
        if (r->w.state->alert.open)
                metrics_sample_labels(f, name, r->labels, "severity", r->w.state->alert.severity,
                                      (double) r->w.state->alert.started / USEC_PER_SEC);
}

static void write_observed(FILE *f, const char *name, const struct row *r) {
        if (r->w.observed > 0)
                metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.observed / USEC_PER_SEC);
}

static const struct {
        const char *name;
        const char *help;
        void (*write)(FILE *f, const char *name, const struct row *r);
} deployment_families[] = {
        { "inferwatch_deployment_health",
          "Derived health of the deployment: 1 for the current state, 0 for the others.", write_health },
        { "inferwatch_deployment_status",
          "Raw status the API reports: 1 for the current one, 0 for the others.", write_status },
        { "inferwatch_deployment_region_ready_instances", "Ready instances of the deployment in a region.",
          write_ready },
        { "inferwatch_deployment_region_instances", "Instances the deployment wants in a region (ready or not).",
          write_total },
        { "inferwatch_deployment_region_error", "Whether the region reports an error for the deployment.",
          write_region_error },
        { "inferwatch_deployment_alert_open", "Whether an alert is open for the deployment.", write_alert_open },
        { "inferwatch_deployment_alert_start_time_seconds",
          "When the open alert of the deployment started, in seconds since the epoch.", write_alert_start },
        { "inferwatch_deployment_last_observation_timestamp_seconds",
          "When the deployment was last observed by a successful poll, in seconds since the epoch.",
          write_observed },
};

static void write_deployments(FILE *f, const struct monitor *m) {
        struct rows rows = {};

        monitor_foreach_watch(m, add_row, &rows);
        for (size_t k = 0; k < ELEMENTSOF(deployment_families); k++) {
                metrics_family(f, deployment_families[k].name, "gauge", deployment_families[k].help);
                for (size_t i = 0; i < rows.n; i++)
                        deployment_families[k].write(f, deployment_families[k].name, &rows.items[i]);
        }
        for (size_t i = 0; i < rows.n; i++)
                free(rows.items[i].labels);
        free(rows.items);
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
