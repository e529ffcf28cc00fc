/* What inferwatchd exports on /metrics: its deployments, API accounts, webhooks, events, build
 * and process, named per the Prometheus naming guide (inferwatch_ prefix, base units, _total
 * counters, state sets as one 0/1 series per state). */
#pragma once

#include <stdbool.h>

#include "context.h"
#include "event.h"
#include "monitor.h"
#include "webhook.h"

struct metrics_sources {
        const struct monitor *monitor;     /* NULL: nothing polled (a cluster member that does not lead) */
        const struct webhooks *webhooks;   /* NULL: no webhooks configured */
        const struct context *context;     /* region directories, log tails, capacity; NULL: none */
        const uint64_t *events;            /* [_EVENT_TYPE_MAX]: events emitted since start */
        const char *cluster_member;        /* this member's name in a cluster; NULL: not clustered */
        bool cluster_leader;               /* whether it leads now */
};

/* The whole exposition. Returns a negative errno when the process figures cannot be read. */
int metrics_collect(FILE *f, const struct metrics_sources *s);
