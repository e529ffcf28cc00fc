/* The alerts open now, for the periodic re-post to Alertmanager webhooks. */
#pragma once

#include "context.h"
#include "monitor.h"
#include "render.h"

/* Every open alert of monitor (none when it is NULL): deployments' alerts, API unreachable and
 * authentication failures. *ret is an array of *n (free() it); its strings belong to monitor. */
void open_alerts_collect(struct monitor *monitor, struct context *context, struct am_alert **ret, size_t *n);
