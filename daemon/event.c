#include <stdarg.h>
#include <syslog.h>

#include <json-c/json.h>

#include "event.h"

struct event_type_info {
        const char *name;
        sd_id128_t message_id;
        int priority;
};

/* MESSAGE_IDs were generated once with `systemd-id128 new` and must never change: users and
 * the catalog refer to them. */
static const struct event_type_info event_types[_EVENT_TYPE_MAX] = {
        [EVENT_DEPLOYMENT_DISCOVERED] = { "deployment.discovered", SD_ID128_MAKE(94,ec,ca,8e,3d,82,49,54,87,d1,f1,af,a8,83,05,52), LOG_INFO },
        [EVENT_DEPLOYMENT_GONE] = { "deployment.gone", SD_ID128_MAKE(73,b9,47,2c,69,27,48,b6,b8,78,74,6b,eb,86,d3,0f), LOG_WARNING },
        [EVENT_DEPLOYMENT_STATUS_CHANGED] = { "deployment.status_changed", SD_ID128_MAKE(1d,67,a9,1e,b7,08,45,4f,b5,a3,c8,7d,a2,1b,c1,12), LOG_INFO },
        [EVENT_DEPLOYMENT_HEALTH_CHANGED] = { "deployment.health_changed", SD_ID128_MAKE(f3,3c,ab,a8,03,6a,47,a2,b0,a4,0c,37,1b,46,5f,3b), LOG_NOTICE },
        [EVENT_DEPLOYMENT_STUCK] = { "deployment.stuck", SD_ID128_MAKE(91,81,b3,05,33,1f,4e,db,83,b3,de,10,ac,12,9a,1f), LOG_WARNING },
        [EVENT_DEPLOYMENT_SPEC_CHANGED] = { "deployment.spec_changed", SD_ID128_MAKE(62,0b,28,42,54,1d,45,9e,93,c8,37,51,12,bc,b8,a9), LOG_INFO },
        [EVENT_DEPLOYMENT_FLAPPING] = { "deployment.flapping", SD_ID128_MAKE(f0,c8,ef,c7,68,16,4b,9d,bc,a5,40,8d,07,20,c2,44), LOG_WARNING },
        [EVENT_DEPLOYMENT_FLAPPING_ENDED] = { "deployment.flapping_ended", SD_ID128_MAKE(06,9a,64,ec,ad,f9,4a,6e,8e,f1,cc,76,e0,cc,85,af), LOG_NOTICE },
        [EVENT_CONTAINER_ERROR] = { "container.error", SD_ID128_MAKE(55,99,3f,8d,2c,c4,42,c7,83,4f,d8,58,40,83,14,86), LOG_ERR },
        [EVENT_CONTAINER_ERROR_CLEARED] = { "container.error_cleared", SD_ID128_MAKE(92,76,e3,08,76,57,46,be,a7,35,e5,73,1c,58,fb,9f), LOG_NOTICE },
        [EVENT_CONTAINER_READY_CHANGED] = { "container.ready_changed", SD_ID128_MAKE(52,a8,33,8e,24,98,4d,b1,a6,f6,fd,a2,a1,38,62,e3), LOG_INFO },
        [EVENT_CONTAINER_ADDED] = { "container.added", SD_ID128_MAKE(bc,2d,14,0b,37,19,42,ed,8d,41,e7,0b,35,2b,b5,95), LOG_INFO },
        [EVENT_CONTAINER_REMOVED] = { "container.removed", SD_ID128_MAKE(fd,04,c8,2d,86,dc,4f,30,b7,83,22,b3,1a,98,5f,b8), LOG_INFO },
        [EVENT_ALERT_FIRING] = { "alert.firing", SD_ID128_MAKE(20,3d,a1,04,fd,8e,46,67,8b,22,c4,e1,b4,79,0d,b7), LOG_ERR },
        [EVENT_ALERT_RESOLVED] = { "alert.resolved", SD_ID128_MAKE(e0,53,52,0e,c1,1f,43,85,93,c5,cc,d3,33,36,5a,a6), LOG_NOTICE },
        [EVENT_ALERT_REMINDER] = { "alert.reminder", SD_ID128_MAKE(20,ba,05,a3,78,41,48,7b,ba,62,26,a4,27,fc,c3,70), LOG_WARNING },
        [EVENT_API_UNREACHABLE] = { "api.unreachable", SD_ID128_MAKE(d9,32,a8,2f,03,9f,4e,e2,9c,8c,5e,ad,b4,c1,ef,54), LOG_ERR },
        [EVENT_API_RECOVERED] = { "api.recovered", SD_ID128_MAKE(e2,06,18,21,15,e7,4d,0d,a8,55,8c,56,5c,1a,45,44), LOG_NOTICE },
        [EVENT_API_AUTH_FAILED] = { "api.auth_failed", SD_ID128_MAKE(9f,e4,1e,f2,0f,15,44,c0,bd,fb,16,f2,1e,51,eb,a7), LOG_CRIT },
        [EVENT_MONITOR_STARTED] = { "monitor.started", SD_ID128_MAKE(77,9a,a6,dd,99,7e,44,4a,a7,d9,dd,14,92,45,45,9a), LOG_INFO },
        [EVENT_MONITOR_RELOADED] = { "monitor.reloaded", SD_ID128_MAKE(65,e1,4b,a6,18,54,4c,40,a3,c3,e7,2d,00,5b,52,c1), LOG_INFO },
        [EVENT_MONITOR_STOPPING] = { "monitor.stopping", SD_ID128_MAKE(06,ad,52,bc,5f,5c,44,09,be,4a,14,e0,3b,db,6e,1a), LOG_INFO },
        [EVENT_WEBHOOK_DROPPED] = { "webhook.dropped", SD_ID128_MAKE(ec,47,93,41,0a,35,42,69,a0,b3,cd,0c,99,38,87,fe), LOG_WARNING },
        [EVENT_WEBHOOK_DISABLED] = { "webhook.disabled", SD_ID128_MAKE(1f,94,4f,c8,70,b6,4e,22,af,58,38,2b,81,c3,f3,b6), LOG_ERR },
        [EVENT_ALERT_ESCALATED] = { "alert.escalated", SD_ID128_MAKE(cf,5b,b2,55,6d,71,45,ea,9d,c1,84,e4,f4,c4,0f,fb), LOG_ERR },
        [EVENT_CLUSTER_LEADER_ACQUIRED] = { "cluster.leader_acquired", SD_ID128_MAKE(69,76,0e,b3,31,cf,4d,f4,92,0b,50,ea,fd,34,ef,1f), LOG_NOTICE },
        [EVENT_CLUSTER_LEADER_LOST] = { "cluster.leader_lost", SD_ID128_MAKE(f4,09,a0,ce,ed,64,40,02,99,c2,bc,31,f9,e0,36,9f), LOG_WARNING },
        [EVENT_CLUSTER_ETCD_UNREACHABLE] = { "cluster.etcd_unreachable", SD_ID128_MAKE(c2,78,bf,f6,b8,df,42,2e,85,8c,d3,04,c1,7d,6e,aa), LOG_ERR },
        [EVENT_DEPLOYMENT_UNOBSERVABLE] = { "deployment.unobservable", SD_ID128_MAKE(0f,18,49,23,d2,0a,49,8c,91,1d,8a,a5,9c,ab,71,1b), LOG_WARNING },
        [EVENT_DEPLOYMENT_OBSERVABLE] = { "deployment.observable", SD_ID128_MAKE(1b,c5,6e,ae,51,f0,44,26,9c,08,2d,7f,49,0d,b6,1a), LOG_NOTICE },
};

static const char *const priority_names[8] = {
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

const char *event_type_to_string(enum event_type t) {
        return t >= 0 && t < _EVENT_TYPE_MAX ? event_types[t].name : NULL;
}

int event_type_from_string(const char *s) {
        for (int i = 0; i < _EVENT_TYPE_MAX; i++)
                if (s && streq(s, event_types[i].name))
                        return i;
        return -EINVAL;
}

sd_id128_t event_type_message_id(enum event_type t) {
        return event_types[t].message_id;
}

int event_type_default_priority(enum event_type t) {
        return event_types[t].priority;
}

int priority_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        for (int i = 0; i < 8; i++)
                if (streq(s, priority_names[i]))
                        return i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        return -EINVAL;
}

const char *priority_to_string(int p) {
        return p >= 0 && p < 8 ? priority_names[p] : "info";
}

struct event *event_new(enum event_type type, usec_t time, const char *account, int64_t project_id,
                        const char *deployment) {
        struct event *e = xcalloc(1, sizeof(*e));

        if (sd_id128_randomize(&e->id) < 0)
                abort();
        e->type = type;
        e->time = time;
        e->priority = event_type_default_priority(type);
        e->account = xstrdup(account);
        e->project_id = project_id;
        e->deployment = xstrdup(deployment);
        return e;
}

struct event *event_free(struct event *e) {
        if (!e)
                return NULL;
        if (e->packed) {
                free(e);
                return NULL;
        }
        free(e->account);
        free(e->deployment);
        free(e->message);
        for (size_t i = 0; i < e->n_fields; i++) {
                free(e->fields[i].key);
                free(e->fields[i].value);
        }
        free(e->fields);
        free(e);
        return NULL;
}

struct event *event_dup(const struct event *e) {
        struct event *n = xcalloc(1, sizeof(*n));

        *n = *e;
        n->packed = false;
        n->account = xstrdup(e->account);
        n->deployment = xstrdup(e->deployment);
        n->message = xstrdup(e->message);
        n->fields = xcalloc(e->n_fields, sizeof(struct event_field));
        for (size_t i = 0; i < e->n_fields; i++) {
                n->fields[i] = e->fields[i];
                n->fields[i].key = xstrdup(e->fields[i].key);
                n->fields[i].value = xstrdup(e->fields[i].value);
        }
        return n;
}

static size_t string_size(const char *s) {
        return s ? strlen(s) + 1 : 0;
}

static char *put_string(char **at, const char *s) {
        char *r = *at;

        if (!s)
                return NULL;
        *at = stpcpy(r, s) + 1;
        return r;
}

struct event *event_pack(struct event *e) {
        size_t size = sizeof(*e) + e->n_fields * sizeof(struct event_field);
        struct event *p;
        char *at;

        if (e->packed)
                return e;
        size += string_size(e->account) + string_size(e->deployment) + string_size(e->message);
        for (size_t i = 0; i < e->n_fields; i++)
                size += string_size(e->fields[i].key) + string_size(e->fields[i].value);
        p = xmalloc(size);
        *p = *e;
        p->packed = true;
        p->fields = e->n_fields > 0 ? (struct event_field *) (p + 1) : NULL;
        at = (char *) (p + 1) + e->n_fields * sizeof(struct event_field);
        p->account = put_string(&at, e->account);
        p->deployment = put_string(&at, e->deployment);
        p->message = put_string(&at, e->message);
        for (size_t i = 0; i < e->n_fields; i++) {
                p->fields[i] = e->fields[i];
                p->fields[i].key = put_string(&at, e->fields[i].key);
                p->fields[i].value = put_string(&at, e->fields[i].value);
        }
        event_free(e);
        return p;
}

/* Before a change of a packed event: its strings and fields in allocations of their own (the
 * packed copies stay unused in its allocation until it is freed). */
static void unpack(struct event *e) {
        struct event_field *fields;

        if (!e->packed)
                return;
        e->packed = false;
        e->account = xstrdup(e->account);
        e->deployment = xstrdup(e->deployment);
        e->message = xstrdup(e->message);
        fields = e->n_fields > 0 ? xcalloc(e->n_fields, sizeof(*fields)) : NULL;
        for (size_t i = 0; i < e->n_fields; i++) {
                fields[i] = e->fields[i];
                fields[i].key = xstrdup(e->fields[i].key);
                fields[i].value = xstrdup(e->fields[i].value);
        }
        e->fields = fields;
}

static void add_field(struct event *e, const char *key, char *value, bool numeric) {
        struct event_field *f;

        unpack(e);
        f = array_append(&e->fields, &e->n_fields, sizeof(*f));

        f->key = xstrdup(key);
        f->value = value;
        f->numeric = numeric;
}

void event_add(struct event *e, const char *key, const char *value) {
        if (value)
                add_field(e, key, xstrdup(value), false);
}

void event_addf(struct event *e, const char *key, const char *fmt, ...) {
        va_list ap;
        char *v;

        va_start(ap, fmt);
        v = xvasprintf(fmt, ap);
        va_end(ap);
        add_field(e, key, v, false);
}

void event_drop(struct event *e, const char *key) {
        size_t k = 0;

        unpack(e);
        for (size_t i = 0; i < e->n_fields; i++) {
                if (streq(e->fields[i].key, key)) {
                        free(e->fields[i].key);
                        free(e->fields[i].value);
                } else
                        e->fields[k++] = e->fields[i];
        }
        e->n_fields = k;
}

void event_add_int(struct event *e, const char *key, int64_t value) {
        add_field(e, key, xasprintf("%lld", (long long) value), true);
}

void event_set_message(struct event *e, const char *fmt, ...) {
        va_list ap;

        unpack(e);
        free(e->message);
        va_start(ap, fmt);
        e->message = xvasprintf(fmt, ap);
        va_end(ap);
}

const char *event_get(const struct event *e, const char *key) {
        for (size_t i = 0; i < e->n_fields; i++)
                if (streq(e->fields[i].key, key))
                        return e->fields[i].value;
        return NULL;
}

void event_list_push(struct event_list *l, struct event *e) {
        *(struct event **) array_append(&l->items, &l->n, sizeof(struct event *)) = e;
}

void event_list_move(struct event_list *dst, struct event_list *src) {
        if (dst->n == 0) {
                free(dst->items);
                *dst = *src;
        } else {
                for (size_t i = 0; i < src->n; i++)
                        event_list_push(dst, src->items[i]);
                free(src->items);
        }
        *src = (struct event_list) {};
}

void event_list_clear(struct event_list *l) {
        for (size_t i = 0; i < l->n; i++)
                event_free(l->items[i]);
        free(l->items);
        *l = (struct event_list) {};
}

const struct event *event_list_find(const struct event_list *l, enum event_type t) {
        for (size_t i = 0; i < l->n; i++)
                if (l->items[i]->type == t)
                        return l->items[i];
        return NULL;
}

char *event_id_to_string(sd_id128_t id, char buf[static 37]) {
        snprintf(buf, 37, SD_ID128_UUID_FORMAT_STR, SD_ID128_FORMAT_VAL(id));
        return buf;
}

char *event_to_json(const struct event *e) {
        struct json_object *o = json_object_new_object(), *data = json_object_new_object();
        char id[37], time[32];
        char *s;

        json_object_object_add(o, "id", json_object_new_string(event_id_to_string(e->id, id)));
        json_object_object_add(o, "type", json_object_new_string(event_type_to_string(e->type)));
        json_object_object_add(o, "time", json_object_new_string(format_rfc3339(time, e->time)));
        json_object_object_add(o, "priority", json_object_new_string(priority_to_string(e->priority)));
        if (e->account)
                json_object_object_add(o, "account", json_object_new_string(e->account));
        json_object_object_add(o, "project_id", e->project_id ? json_object_new_int64(e->project_id) : NULL);
        json_object_object_add(o, "deployment", e->deployment ? json_object_new_string(e->deployment) : NULL);
        if (e->message)
                json_object_object_add(o, "message", json_object_new_string(e->message));
        for (size_t i = 0; i < e->n_fields; i++) {
                const struct event_field *f = &e->fields[i];
                json_object_object_add(data, f->key,
                                       f->numeric ? json_object_new_int64(strtoll(f->value, NULL, 10))
                                                  : json_object_new_string(f->value));
        }
        json_object_object_add(o, "data", data);
        s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return s;
}

static const char *get_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int event_from_json(const char *json, struct event **ret) {
        struct json_object *o = json_tokener_parse(json), *v, *data;
        const char *id, *type, *time, *prio;
        struct event *e = NULL;
        usec_t t;
        int r = -EBADMSG, k;

        if (!json_object_is_type(o, json_type_object))
                goto finish;
        id = get_string(o, "id");
        type = get_string(o, "type");
        time = get_string(o, "time");
        prio = get_string(o, "priority");
        k = event_type_from_string(type);
        if (!id || k < 0 || !time || parse_rfc3339(time, &t) < 0)
                goto finish;
        e = event_new(k, t, get_string(o, "account"), 0, get_string(o, "deployment"));
        if (sd_id128_from_string(id, &e->id) < 0)
                goto finish;
        if (prio && priority_from_string(prio) >= 0)
                e->priority = priority_from_string(prio);
        if (json_object_object_get_ex(o, "project_id", &v) && json_object_is_type(v, json_type_int))
                e->project_id = json_object_get_int64(v);
        e->message = xstrdup(get_string(o, "message"));
        if (json_object_object_get_ex(o, "data", &data) && json_object_is_type(data, json_type_object)) {
                json_object_object_foreach(data, key, val) {
                        if (json_object_is_type(val, json_type_int))
                                event_add_int(e, key, json_object_get_int64(val));
                        else if (json_object_is_type(val, json_type_string))
                                event_add(e, key, json_object_get_string(val));
                }
        }
        *ret = TAKE_PTR(e);
        r = 0;
finish:
        event_free(e);
        json_object_put(o);
        return r;
}
