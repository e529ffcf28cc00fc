/* The alerts open now, as Alertmanager webhooks re-post them: each deployment's open alert (with
 * the log tail it fired with) and each account's API alerts. */
#include "open-alerts.h"
#include "util.h"

struct alert_list {
        struct context *context;
        struct am_alert *items;
        size_t n;
};

/* The tail attached to the alert when it fired: of the first region with an error. */
static const char *region_tail(struct context *context, const char *account, int64_t project_id, const char *name,
                               const struct watch_state *w) {
        const char *regions = w->alert->regions;

        if (!context || !regions || !*regions)
                return NULL;
        return context_last_tail(context, account, project_id, name, strtoll(regions, NULL, 10));
}

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
                .log_tail = region_tail(l->context, account, project_id, name, w),
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
