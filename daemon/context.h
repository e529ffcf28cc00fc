/* What an alert needs to answer the operator's next question (SPEC §3 "Context"): region names
 * from each account's region directory (cached in the state directory, fetched at start and
 * rarely after), the last log lines of the failing region, fetched once when a container error
 * or an alert event is about to be reported, and for a capacity or scheduling error the
 * capacity left for the deployment's flavor in that region. The requests share the poller's HTTP client
 * and event loop; they are counted, and shown by --status. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "event.h"
#include "http.h"

/* How long events wait for a log tail before they are reported without it. */
#define CONTEXT_TAIL_WAIT (2 * USEC_PER_SEC)
/* A tail fetched this recently for the same region serves the next event too (the alert that
 * follows a container error), so an incident costs at most two requests per region. */
#define CONTEXT_TAIL_REUSE (5 * USEC_PER_MINUTE)
#define CONTEXT_REGIONS_REFRESH (6 * USEC_PER_HOUR)
/* The capacity page of an account serves the events of this long. */
#define CONTEXT_CAPACITY_REUSE USEC_PER_MINUTE
#define CONTEXT_FILE "context.json"

struct context_counters {
        uint64_t regions;         /* directory requests */
        uint64_t logs;            /* log tail requests */
        uint64_t capacity;        /* capacity requests */
        uint64_t failed;          /* of both, those that failed */
};

/* For /metrics: each account's context requests finished since the daemon started (or could
 * not start: failed), by kind and outcome. */
enum context_kind { CONTEXT_REGIONS, CONTEXT_LOGS, CONTEXT_CAPACITY, _CONTEXT_KIND_MAX };
const char *context_kind_to_string(enum context_kind k);
struct context_account_figures {
        const char *account;
        uint64_t ok[_CONTEXT_KIND_MAX], failed[_CONTEXT_KIND_MAX];
};
typedef void (*context_figures_fn)(const struct context_account_figures *f, void *userdata);

struct context;

/* Loads the cached directories from the state directory; nothing is requested yet. */
int context_new(sd_event *event, struct http_client *http, const struct config *c, struct context **ret);
struct context *context_free(struct context *x);
/* Fetches each account's region directory unless the cached one is recent. */
void context_start(struct context *x);

/* Starts the log tail requests the events in l need (none already fetched or in flight). */
void context_prepare(struct context *x, const struct event_list *l);
/* Whether the events should wait: a tail they need is in flight, for less than
 * CONTEXT_TAIL_WAIT. A timer wakes the loop when the wait ends. */
bool context_waiting(struct context *x);
/* Adds region names (REGION_NAME=, REGION_STATE=, names in the message), log tails (LOG_TAIL=,
 * and LOG_TAIL_STATUS= "ok" or why there is none) and capacity hints (CAPACITY_HINT=, also in
 * the message; CAPACITY_STATUS=) to the events of l. */
void context_finish(struct context *x, struct event_list *l);

/* "Luxembourg-2 (7), Paris (1)" for a list of region ids "7,1"; the ids alone when unknown. */
char *context_region_names(const struct context *x, const char *account, const char *ids);
/* An account's region directory as it stands (NULL when x or the account is unknown); valid
 * until the loop runs again. */
struct region_directory;
const struct region_directory *context_regions(const struct context *x, const char *account);
const struct context_counters *context_counters(const struct context *x);
void context_foreach_account(const struct context *x, context_figures_fn fn, void *userdata);

/* For --status: the counters and region directories the daemon saved; -ENOENT when none. */
struct json_object;
int context_read_saved(const char *state_directory, struct json_object **ret);
/* An account's region directory from a saved document (empty when none; saved may be NULL). */
struct region_directory;
void context_saved_directory(struct json_object *saved, const char *account, struct region_directory *ret);
