/* The alerts open now, as Alertmanager webhooks re-post them: each deployment's open alert (with
 * the context its alert.firing carried, kept with the alert) and each account's API alerts. */
#include "open-alerts.h"
#include "util.h"

struct alert_list {
        struct context *context;
        struct am_alert *items;
        size_t n;
};

static void collect_alert(const char *account, int64_t project_id, const char *name, const struct watch_state *w,
                          const char *error, void *userdata) {
        struct alert_list *l = userdata;

        if (!w->alert)
                return;
        *(struct am_alert *) array_append(&l->items, &l->n, sizeof(struct am_alert)) = (struct am_alert) {
                .project_id = project_id,
                .deployment = name,
                .status = w->snap ? w->snap->status : "",
                .health = w->health,
                .alert = w->alert,
                .regions = context_regions(l->context, account),
        };
}

/* API alerts: posted to Alertmanager webhooks whose events filter names them. */
static void collect_unreachable(const struct monitor_account_info *a, void *userdata) {
        struct alert_list *l = userdata;

        if (a->api->unreachable)
                *(struct am_alert *) array_append(&l->items, &l->n, sizeof(struct am_alert)) = (struct am_alert) {
                        .kind = AM_API_UNREACHABLE, .account = a->name, .since = a->api->unreachable_since };
}

static void collect_auth_failed(const char *account, int64_t project_id, const char *error, void *userdata) {
        struct alert_list *l = userdata;

        *(struct am_alert *) array_append(&l->items, &l->n, sizeof(struct am_alert)) = (struct am_alert) {
                .kind = AM_API_AUTH_FAILED, .account = account, .project_id = project_id,
                .since = now_usec(CLOCK_REALTIME) };
}

void open_alerts_collect(struct monitor *monitor, struct context *context, struct am_alert **ret, size_t *n) {
        struct alert_list l = { .context = context };

        if (monitor) {
                monitor_foreach(monitor, collect_alert, &l);
                monitor_foreach_account(monitor, collect_unreachable, &l);
                monitor_foreach_auth_failed(monitor, collect_auth_failed, &l);
        }
        *ret = l.items;
        *n = l.n;
}

/* Kept where the alert is kept: in the state written with the event (state.json, or etcd), so
 * the re-posts after a restart carry it too. */
void open_alerts_keep_context(struct monitor *monitor, const struct event_list *l) {
        for (size_t i = 0; monitor && i < l->n; i++) {
                const struct event *e = l->items[i];
                struct alert_state *a;
                char id[37];

                if (e->type != EVENT_ALERT_FIRING || !e->deployment)
                        continue;
                a = monitor_open_alert(monitor, e->account, e->project_id, e->deployment);
                /* The event of an alert closed since (an event committed again) is not this one's. */
                if (!a || !streq_ptr(event_get(e, "alert_id"), event_id_to_string(a->id, id)))
                        continue;
                free(a->log_tail);
                free(a->log_tail_status);
                free(a->capacity_hint);
                a->log_tail = xstrdup(event_get(e, "log_tail"));
                a->log_tail_status = xstrdup(event_get(e, "log_tail_status"));
                a->capacity_hint = xstrdup(event_get(e, "capacity_hint"));
        }
}
