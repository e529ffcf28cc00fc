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
        EVENT_DEPLOYMENT_FLAPPING,        /* changes back and forth: its changes go to debug */
        EVENT_DEPLOYMENT_FLAPPING_ENDED,  /* stable again: a summary of the flap */
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
        EVENT_ALERT_ESCALATED,    /* an open warning alert became critical */
        /* A member's own role in an etcd cluster: its local journal only, never a webhook. */
        EVENT_CLUSTER_LEADER_ACQUIRED,
        EVENT_CLUSTER_LEADER_LOST,
        EVENT_CLUSTER_ETCD_UNREACHABLE,
        /* One deployment's own requests fail persistently (the account answers for the others),
         * and its first good answer after that. */
        EVENT_DEPLOYMENT_UNOBSERVABLE,
        EVENT_DEPLOYMENT_OBSERVABLE,
        _EVENT_TYPE_MAX,
};

/* One named value of an event. Keys are lower-case snake ("old_status"); the journal field is the
 * upper-case key (OLD_STATUS=), the JSON member the key itself, a number when numeric. */
struct event_field {
        char *key;
        char *value;
        bool numeric;
};

struct event {
        sd_id128_t id;            /* random, unique per occurrence: EVENT_ID=, webhook-id */
        enum event_type type;
        usec_t time;              /* CLOCK_REALTIME */
        int priority;             /* syslog level */
        char *account;            /* account name; NULL for monitor.* events */
        int64_t project_id;       /* 0 when not about a project */
        char *deployment;         /* NULL when not about one deployment */
        char *message;            /* one human line */
        struct event_field *fields;
        size_t n_fields;
        bool finished;            /* completed by the context (context_finish): not again */
        bool packed;              /* its strings and fields share its allocation (event_pack) */
};

struct event *event_new(enum event_type type, usec_t time, const char *account, int64_t project_id,
                        const char *deployment);
struct event *event_free(struct event *e);
struct event *event_dup(const struct event *e);
/* The same event in one allocation (the struct, its fields, every string), e freed: a change
 * (event_add, event_set_message, event_drop) gives its strings their own allocations again.
 * What waits for a commit is packed: a discovery of 100,000 deployments holds tens of thousands
 * of events between two saves, about 870 bytes each in 19 allocations, 450 packed. */
struct event *event_pack(struct event *e);
void event_add(struct event *e, const char *key, const char *value);
void event_addf(struct event *e, const char *key, const char *fmt, ...) _printf_(3, 4);
void event_add_int(struct event *e, const char *key, int64_t value);
void event_set_message(struct event *e, const char *fmt, ...) _printf_(2, 3);
/* Removes every field named key. */
void event_drop(struct event *e, const char *key);
/* The value of a field, or NULL. */
const char *event_get(const struct event *e, const char *key);

/* The JSON envelope {id, type, time, priority, project_id, deployment, message, data{...}}. */
char *event_to_json(const struct event *e);
/* Parses event_to_json's output back (the spool stores events this way). */
int event_from_json(const char *json, struct event **ret);

/* A growable list of events, in order. */
struct event_list {
        struct event **items;
        size_t n;
};

void event_list_push(struct event_list *l, struct event *e);
/* Appends src's events to dst, in order, and empties src. */
void event_list_move(struct event_list *dst, struct event_list *src);
void event_list_clear(struct event_list *l);
/* The first event of a type in l, or NULL (tests). */
const struct event *event_list_find(const struct event_list *l, enum event_type t);

/* The UUID text form of an event id: "8-4-4-4-12" lower-case hex. */
char *event_id_to_string(sd_id128_t id, char buf[static 37]);

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
