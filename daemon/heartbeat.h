/* The heartbeat (dead man's switch): every interval, the configured URL is pinged when the last
 * cycle went well, the failure URL while the API is unreachable, and nothing otherwise; a
 * service such as healthchecks.io pages when the pings stop. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "http.h"

enum heartbeat_verdict {
        HEARTBEAT_NONE,           /* a cycle not complete yet: no ping */
        HEARTBEAT_OK,             /* every deployment observed since then, the API answering */
        HEARTBEAT_FAIL,           /* an account unreachable or failing authentication */
};

struct monitor;
struct heartbeat;

/* What the monitor's watches and accounts say about the time since `since` (CLOCK_REALTIME). */
enum heartbeat_verdict heartbeat_verdict(const struct monitor *m, usec_t since);

/* -ENOENT when the configuration has no heartbeat. c must outlive the heartbeat; *monitor is
 * read at each tick (the manager replaces its monitor on reload). */
int heartbeat_new(sd_event *event, struct http_client *http, const struct config *c,
                  struct monitor *const *monitor, struct heartbeat **ret);
/* Cancels a ping in flight. NULL-safe. */
struct heartbeat *heartbeat_free(struct heartbeat *h);
