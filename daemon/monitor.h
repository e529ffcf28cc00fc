/* The poller: one watch per deployment, one list job per "*" project, adaptive scheduling,
 * bounded requests in flight, per-account backoff, and observations fed to the diff engine. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "gcore.h"
#include "http.h"
#include "metrics.h"
#include "state.h"

struct monitor;

struct monitor_counts {
        size_t deployments;
        size_t by_health[_HEALTH_MAX];
        size_t alerts_open;
        size_t accounts_unreachable;
        size_t projects_auth_failed;
        size_t polls_failed;      /* --once: watches or lists whose poll failed */
};

/* once: poll every deployment exactly once, no retries, then monitor_once_done() is true. */
int monitor_new(sd_event *event, struct http_client *http, const struct config *c, bool once,
                struct monitor **ret);
/* Cancels everything in flight. NULL-safe. */
struct monitor *monitor_free(struct monitor *m);

/* Moves matching records' states into the watches (identity: url, project, name) and removes
 * them from s; what is left in s is no longer watched. */
void monitor_import(struct monitor *m, struct saved_state *s);
/* One record of it: true when a watch took r's state (r is emptied), false when no longer
 * watched (r left as it is). */
bool monitor_import_watch(struct monitor *m, struct watch_record *r);
/* Deep copy of the current state, for saving or handing to a reloaded monitor. */
void monitor_export(const struct monitor *m, struct saved_state *ret);
/* The same without copies, for saving at once: the watch records point into the monitor and
 * stay valid only until it changes (10,000 deep copies made every save cost 8 MB at the peak). */
void monitor_view(const struct monitor *m, struct saved_state *ret);
/* For state_save() alone: no records at all, each made in turn while it writes (100,000
 * records of a view took 22 MiB). */
void monitor_stream(const struct monitor *m, struct saved_state *ret);

/* Schedules the first polls, spread over at most a second. */
int monitor_start(struct monitor *m);

/* Events produced since the last call, in order; the caller takes them. */
void monitor_take_events(struct monitor *m, struct event_list *out);
/* Whether the persisted state changed since the last call. */
bool monitor_take_dirty(struct monitor *m);

bool monitor_once_done(const struct monitor *m);
void monitor_count(const struct monitor *m, struct monitor_counts *ret);

/* For --once output: every watch, in configuration order. */
typedef void (*monitor_watch_fn)(const char *account, int64_t project_id, const char *name,
                                 const struct watch_state *w, const char *error, void *userdata);
void monitor_foreach(const struct monitor *m, monitor_watch_fn fn, void *userdata);
/* The open alert of a deployment, or NULL when it has none or is not watched. */
struct alert_state *monitor_open_alert(struct monitor *m, const char *account, int64_t project_id, const char *name);
/* For --once output: "*" projects whose list could not be read. */
typedef void (*monitor_project_fn)(const char *account, int64_t project_id, const char *error, void *userdata);
void monitor_foreach_failed_list(const struct monitor *m, monitor_project_fn fn, void *userdata);
/* Projects whose authentication fails (error: NULL). */
void monitor_foreach_auth_failed(const struct monitor *m, monitor_project_fn fn, void *userdata);

/* For /metrics: what each deployment's watch holds. */
struct monitor_watch_info {
        const char *account;
        int64_t project_id;
        const char *name;
        const struct watch_state *state;
        usec_t observed;          /* CLOCK_REALTIME of the last observation applied; 0 none */
};
typedef void (*monitor_watch_info_fn)(const struct monitor_watch_info *w, void *userdata);
void monitor_foreach_watch(const struct monitor *m, monitor_watch_info_fn fn, void *userdata);

/* For /metrics: each account's API figures since the daemon started. */
struct monitor_account_info {
        const char *name;
        const struct api_state *api;
        bool backing_off;
        const uint64_t *requests;                 /* [_API_OUTCOME_MAX] */
        const struct metrics_histogram *duration; /* seconds per request */
        uint64_t delayed;                         /* polls delayed by max_requests_per_second */
};
typedef void (*monitor_account_info_fn)(const struct monitor_account_info *a, void *userdata);
void monitor_foreach_account(const struct monitor *m, monitor_account_info_fn fn, void *userdata);
