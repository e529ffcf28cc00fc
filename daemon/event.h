/* Events: what inferwatchd reports, one struct per occurrence, with its stable identity. */
#pragma once

#include <systemd/sd-id128.h>

#include "health.h"

enum event_type {
        EVENT_DEPLOYMENT_DISCOVERED,
        EVENT_DEPLOYMENT_GONE,
        EVENT_DEPLOYMENT_STATUS_CHANGED,
        EVENT_DEPLOYMENT_HEALTH_CHANGED,
        EVENT_DEPLOYMENT_STUCK,
        EVENT_DEPLOYMENT_SPEC_CHANGED,
        EVENT_CONTAINER_ERROR,
        EVENT_CONTAINER_ERROR_CLEARED,
        EVENT_CONTAINER_READY_CHANGED,
        EVENT_CONTAINER_ADDED,
        EVENT_CONTAINER_REMOVED,
        EVENT_ALERT_FIRING,
        EVENT_ALERT_RESOLVED,
        EVENT_ALERT_REMINDER,
        EVENT_API_UNREACHABLE,
        EVENT_API_RECOVERED,
        EVENT_API_AUTH_FAILED,
        EVENT_MONITOR_STARTED,
        EVENT_MONITOR_RELOADED,
        EVENT_MONITOR_STOPPING,
        EVENT_WEBHOOK_DROPPED,    /* spool overflow or a permanently refused delivery */
        EVENT_WEBHOOK_DISABLED,   /* a 410 Gone from the receiver */
        _EVENT_TYPE_MAX,
};

/* "deployment.status_changed" etc. */
const char *event_type_to_string(enum event_type t);
/* -EINVAL when unknown. */
int event_type_from_string(const char *s);
/* The fixed MESSAGE_ID of an event type (also in the journal catalog). */
sd_id128_t event_type_message_id(enum event_type t);
/* The type's usual priority; some events take theirs from the new health instead. */
int event_type_default_priority(enum event_type t);

/* "err" → 3; also accepts "0".."7". -EINVAL when unknown. */
int priority_from_string(const char *s);
const char *priority_to_string(int p);
