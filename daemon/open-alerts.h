/* The alerts open now, for the periodic re-post to Alertmanager webhooks. */
#pragma once

#include "context.h"
#include "monitor.h"
#include "render.h"

/* Every open alert of monitor (none when it is NULL): deployments' alerts, API unreachable and
 * authentication failures. *ret is an array of *n (free() it); its strings belong to monitor. */
void open_alerts_collect(struct monitor *monitor, struct context *context, struct am_alert **ret, size_t *n);
/* Keeps with each open alert the context (log tail or why there is none, capacity hint) of the
 * alert.firing events of l, once context_finish() made them final, for the re-posts. */
void open_alerts_keep_context(struct monitor *monitor, const struct event_list *l);
