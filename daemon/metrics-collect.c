#include "metrics-collect.h"
#include "signature.h"

/* The subjects of a group of families (deployments, accounts, webhooks) are gathered once, each
 * with its labels escaped once, then every family of the group is written over them. */
struct rows {
        void *items;
        size_t n, size;
};

struct family {
        const char *name;
        const char *type;
        const char *help;
        void (*write)(FILE *f, const char *name, const void *row);
};

static void *rows_add(struct rows *rows) {
        rows->items = xrealloc(rows->items, (rows->n + 1) * rows->size);
        return memset((char *) rows->items + rows->n++ * rows->size, 0, rows->size);
}

static void write_families(FILE *f, const struct family *fams, size_t n_fams, const struct rows *rows) {
        for (size_t k = 0; k < n_fams; k++) {
                metrics_family(f, fams[k].name, fams[k].type, fams[k].help);
                for (size_t i = 0; i < rows->n; i++)
                        fams[k].write(f, fams[k].name, (const char *) rows->items + i * rows->size);
        }
}

/* ---- deployments: account, project, deployment ---- */

struct deployment_row {
        char *labels;             /* first in every row struct: freed by rows_done */
        struct monitor_watch_info w;
};

static void rows_done(struct rows *rows) {
        for (size_t i = 0; i < rows->n; i++)
                free(*(char **) ((char *) rows->items + i * rows->size));
        free(rows->items);
}

static void add_deployment(const struct monitor_watch_info *w, void *userdata) {
        struct deployment_row *r = rows_add(userdata);
        char project[24];

        snprintf(project, sizeof(project), "%" PRIi64, w->project_id);
        r->w = *w;
        r->labels = metrics_format_labels((const char *const[]) { "account", w->account, "project", project,
                                                                  "deployment", w->name }, 3);
}

static void write_health(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;

        for (enum health h = 0; h < _HEALTH_MAX; h++)
                metrics_sample_labels(f, name, r->labels, "health", health_to_string(h), r->w.state->health == h);
}

static void write_status(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;

        for (enum deploy_status st = 0; r->w.state->snap && st < _STATUS_MAX; st++)
                metrics_sample_labels(f, name, r->labels, "status", deploy_status_to_string(st),
                                      r->w.state->snap->status_enum == st);
}

enum region_figure { REGION_READY, REGION_TOTAL, REGION_ERROR };

static void write_regions(FILE *f, const char *name, const struct deployment_row *r, enum region_figure what) {
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

static void write_ready(FILE *f, const char *name, const void *row) {
        write_regions(f, name, row, REGION_READY);
}

static void write_total(FILE *f, const char *name, const void *row) {
        write_regions(f, name, row, REGION_TOTAL);
}

static void write_region_error(FILE *f, const char *name, const void *row) {
        write_regions(f, name, row, REGION_ERROR);
}

/* A label value stays short: the signature's first this many bytes (cut between characters). */
#define SIGNATURE_LABEL_MAX 200U

/* The signature of each region's error as an info metric: what the error is, stable while the
 * text changes within one incident (a crash-loop's back-off and pod name), so one series per
 * incident instead of one per poll. The state keeps the latest text only: the signature is
 * computed from it at scrape time. Control characters and bytes that are not UTF-8 are escaped
 * (cescape_cell), then the exposition's own escapes apply. */
static void write_region_error_info(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;
        const struct deployment *d = r->w.state->snap;

        for (size_t i = 0; d && i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                _cleanup_free_ char *sig = NULL, *shown = NULL, *labels = NULL;

                if (!c->error_message)
                        continue;
                sig = error_signature(c->error_message);
                shown = cescape_cell_cut(sig, SIGNATURE_LABEL_MAX);
                labels = xasprintf("%s,region=\"%" PRIi64 "\"", r->labels, c->region_id);
                metrics_sample_labels(f, name, labels, "signature", shown, 1);
        }
}

static void write_alert_open(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, r->w.state->alert != NULL);
}

static void write_alert_start(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;

        if (r->w.state->alert)
                metrics_sample_labels(f, name, r->labels, "severity", r->w.state->alert->severity,
                                      (double) r->w.state->alert->started / USEC_PER_SEC);
}

static void write_observed(FILE *f, const char *name, const void *row) {
        const struct deployment_row *r = row;

        if (r->w.observed > 0)
                metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.observed / USEC_PER_SEC);
}

static const struct family deployment_families[] = {
        { "inferwatch_deployment_health", "gauge",
          "Derived health of the deployment: 1 for the current state, 0 for the others.", write_health },
        { "inferwatch_deployment_status", "gauge",
          "Raw status the API reports: 1 for the current one, 0 for the others.", write_status },
        { "inferwatch_deployment_region_ready_instances", "gauge", "Ready instances of the deployment in a region.",
          write_ready },
        { "inferwatch_deployment_region_instances", "gauge",
          "Instances the deployment wants in a region (ready or not).", write_total },
        { "inferwatch_deployment_region_error", "gauge", "Whether the region reports an error for the deployment.",
          write_region_error },
        { "inferwatch_deployment_region_error_info", "gauge",
          "1 while the region reports an error, labelled with the error's signature (its text without what varies "
          "within one incident: durations, counts, pod names, addresses, ids).", write_region_error_info },
        { "inferwatch_deployment_alert_open", "gauge", "Whether an alert is open for the deployment.",
          write_alert_open },
        { "inferwatch_deployment_alert_start_time_seconds", "gauge",
          "When the open alert of the deployment started, in seconds since the epoch.", write_alert_start },
        { "inferwatch_deployment_last_observation_timestamp_seconds", "gauge",
          "When the deployment was last observed by a successful poll, in seconds since the epoch.", write_observed },
};

/* ---- API accounts: account ---- */

struct account_row {
        char *labels;
        struct monitor_account_info a;
};

static void add_account(const struct monitor_account_info *a, void *userdata) {
        struct account_row *r = rows_add(userdata);

        r->a = *a;
        r->labels = metrics_format_labels((const char *const[]) { "account", a->name }, 1);
}

static void write_api_up(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, !r->a.api->unreachable);
}

static void write_backoff(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, r->a.backing_off);
}

static void write_failures(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, r->a.api->failures);
}

static void write_requests(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        for (enum api_outcome o = 0; o < _API_OUTCOME_MAX; o++)
                metrics_sample_labels(f, name, r->labels, "outcome", api_outcome_to_string(o), (double) r->a.requests[o]);
}

static void write_delayed(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->a.delayed);
}

static void write_duration(FILE *f, const char *name, const void *row) {
        const struct account_row *r = row;

        metrics_histogram_write(f, name, r->a.duration, (const char *const[]) { "account", r->a.name }, 1);
}

static const struct family account_families[] = {
        { "inferwatch_api_up", "gauge", "Whether the account's API answers (0 once api.unreachable was reported).",
          write_api_up },
        { "inferwatch_api_backoff", "gauge", "Whether the poller is backing off the account's API after a failure.",
          write_backoff },
        { "inferwatch_api_consecutive_failures", "gauge", "Failed polls of the account's API in a row.",
          write_failures },
        { "inferwatch_api_requests_total", "counter", "API requests finished, by outcome.", write_requests },
        { "inferwatch_api_request_duration_seconds", "histogram", "Duration of API requests.", write_duration },
        { "inferwatch_api_requests_delayed_total", "counter",
          "Polls that waited for their turn under the account's max_requests_per_second.", write_delayed },
};

/* ---- webhooks: webhook ---- */

struct webhook_row {
        char *labels;
        struct webhook_figures w;
};

static void add_webhook(const struct webhook_figures *w, void *userdata) {
        struct webhook_row *r = rows_add(userdata);

        r->w = *w;
        r->labels = metrics_format_labels((const char *const[]) { "webhook", w->name }, 1);
}

static void write_deliveries(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        metrics_sample_labels(f, name, r->labels, "result", "delivered", (double) r->w.delivered);
        metrics_sample_labels(f, name, r->labels, "result", "dropped", (double) r->w.dropped);
}

static void write_failed(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.failed);
}

static void write_backlog(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.backlog);
}

static void write_backlog_bytes(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.backlog_bytes);
}

static void write_oldest(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        if (r->w.oldest > 0)
                metrics_sample_labels(f, name, r->labels, NULL, NULL, (double) r->w.oldest / USEC_PER_SEC);
}

static void write_disabled(FILE *f, const char *name, const void *row) {
        const struct webhook_row *r = row;

        metrics_sample_labels(f, name, r->labels, NULL, NULL, r->w.disabled);
}

static const struct family webhook_families[] = {
        { "inferwatch_webhook_deliveries_total", "counter",
          "Events delivered to the webhook, or dropped (spool bounds, refused).", write_deliveries },
        { "inferwatch_webhook_failed_attempts_total", "counter", "Delivery attempts that failed and were retried.",
          write_failed },
        { "inferwatch_webhook_backlog_events", "gauge", "Events waiting in the webhook's spool.", write_backlog },
        { "inferwatch_webhook_backlog_bytes", "gauge", "Size of the events waiting in the webhook's spool.",
          write_backlog_bytes },
        { "inferwatch_webhook_oldest_event_timestamp_seconds", "gauge",
          "When the oldest undelivered event was spooled, in seconds since the epoch.", write_oldest },
        { "inferwatch_webhook_disabled", "gauge", "Whether the webhook is disabled (it answered 410 Gone) until a reload.",
          write_disabled },
};

/* ---- the context's requests: account, kind, outcome ---- */

#define CONTEXT_REQUESTS "inferwatch_api_context_requests_total"

static void write_context(const struct context_account_figures *c, void *userdata) {
        FILE *f = userdata;

        for (enum context_kind k = 0; k < _CONTEXT_KIND_MAX; k++) {
                metrics_sample(f, CONTEXT_REQUESTS, (double) c->ok[k], "account", c->account, "kind",
                               context_kind_to_string(k), "outcome", "ok", NULL);
                metrics_sample(f, CONTEXT_REQUESTS, (double) c->failed[k], "account", c->account, "kind",
                               context_kind_to_string(k), "outcome", "failed", NULL);
        }
}

static void write_events(FILE *f, const uint64_t *events) {
        metrics_family(f, "inferwatch_events_total", "counter", "Events emitted, by type.");
        for (enum event_type t = 0; t < _EVENT_TYPE_MAX; t++)
                metrics_sample(f, "inferwatch_events_total", (double) events[t], "type", event_type_to_string(t), NULL);
}

int metrics_collect(FILE *f, const struct metrics_sources *s) {
        struct rows deployments = { .size = sizeof(struct deployment_row) };
        struct rows accounts = { .size = sizeof(struct account_row) };
        struct rows webhooks = { .size = sizeof(struct webhook_row) };

        metrics_family(f, "inferwatch_build_info", "gauge", "Version of inferwatchd, always 1.");
        metrics_sample(f, "inferwatch_build_info", 1, "version", PACKAGE_VERSION, NULL);
        if (s->cluster_member) {
                metrics_family(f, "inferwatch_cluster_leader", "gauge",
                               "1 while this member leads its cluster (polls and emits), 0 while it stands by.");
                metrics_sample(f, "inferwatch_cluster_leader", s->cluster_leader ? 1 : 0, "member", s->cluster_member,
                               NULL);
        }
        if (s->monitor) {
                monitor_foreach_watch(s->monitor, add_deployment, &deployments);
                monitor_foreach_account(s->monitor, add_account, &accounts);
        }
        write_families(f, deployment_families, ELEMENTSOF(deployment_families), &deployments);
        write_families(f, account_families, ELEMENTSOF(account_families), &accounts);
        if (s->webhooks) {
                webhooks_foreach(s->webhooks, add_webhook, &webhooks);
                write_families(f, webhook_families, ELEMENTSOF(webhook_families), &webhooks);
        }
        rows_done(&deployments);
        rows_done(&accounts);
        rows_done(&webhooks);
        metrics_family(f, CONTEXT_REQUESTS, "counter",
                       "Requests for an event's context finished (region directory, log tail, capacity), by outcome.");
        context_foreach_account(s->context, write_context, f);
        write_events(f, s->events);
        return metrics_write_process(f);
}
