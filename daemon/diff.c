#include <syslog.h>

#include "diff.h"
#include "signature.h"

void alert_state_done(struct alert_state *a) {
        free(a->severity);
        free(a->summary);
        free(a->regions);
        free(a->log_tail);
        free(a->log_tail_status);
        free(a->capacity_hint);
        *a = (struct alert_state) {};
}

void watch_state_close_alert(struct watch_state *w) {
        if (w->alert)
                alert_state_done(w->alert);
        w->alert = mfree(w->alert);
}

static void forget_errors(struct watch_state *w) {
        w->memos = mfree(w->memos);
}

void watch_state_done(struct watch_state *w) {
        deployment_free(w->snap);
        watch_state_close_alert(w);
        flap_state_done(&w->flap);
        free(w->memos);
        *w = (struct watch_state) {};
}

void watch_state_copy(struct watch_state *dst, const struct watch_state *src) {
        *dst = *src;
        dst->snap = src->snap ? deployment_dup(src->snap) : NULL;
        if (src->alert) {
                dst->alert = xmalloc(sizeof(*dst->alert));
                *dst->alert = *src->alert;
                dst->alert->severity = xstrdup(src->alert->severity);
                dst->alert->summary = xstrdup(src->alert->summary);
                dst->alert->regions = xstrdup(src->alert->regions);
                dst->alert->log_tail = xstrdup(src->alert->log_tail);
                dst->alert->log_tail_status = xstrdup(src->alert->log_tail_status);
                dst->alert->capacity_hint = xstrdup(src->alert->capacity_hint);
        }
        flap_state_copy(&dst->flap, &src->flap);
        if (src->memos) {
                dst->memos = xcalloc(ERROR_MEMOS, sizeof(struct error_memo));
                memcpy(dst->memos, src->memos, ERROR_MEMOS * sizeof(struct error_memo));
        }
}

/* FNV-1a, for keys of the flap detector and remembered signatures. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                h = (h ^ ((const uint8_t *) p)[i]) * UINT64_C(0x100000001b3);
        return h;
}

#define HASH_INIT UINT64_C(0xcbf29ce484222325)

static uint64_t signature_hash(const char *error) {
        _cleanup_free_ char *sig = NULL;

        if (!error)
                return 0;
        sig = error_signature(error);
        return hash_bytes(HASH_INIT, sig, strlen(sig)) | 1; /* never 0, the free slot */
}

static struct error_memo *error_memo(struct watch_state *w, int64_t region_id) {
        struct error_memo *free_slot = NULL;

        if (!w->memos)
                w->memos = xcalloc(ERROR_MEMOS, sizeof(struct error_memo));
        for (size_t i = 0; i < ERROR_MEMOS; i++) {
                if (w->memos[i].signature && w->memos[i].region_id == region_id)
                        return &w->memos[i];
                if (!w->memos[i].signature && !free_slot)
                        free_slot = &w->memos[i];
        }
        if (free_slot)
                free_slot->region_id = region_id;
        return free_slot;
}

/* A region's error changed to c's from old's (another signature). Whether that is news: not
 * when it goes back to the error it had before old's within ERROR_RETURN_WINDOW, e.g. the
 * kubelet alternating between ErrImagePull and ImagePullBackOff. */
static bool error_is_news(struct watch_state *w, const struct container *c, const char *old, usec_t now) {
        struct error_memo *m = error_memo(w, c->region_id);
        bool back;

        if (!m)
                return true;
        back = m->signature == signature_hash(c->error_message) && now - MIN(now, m->left) <= ERROR_RETURN_WINDOW;
        m->signature = signature_hash(old);
        m->left = now;
        return !back;
}

static void error_cleared(struct watch_state *w, int64_t region_id) {
        for (size_t i = 0; w->memos && i < ERROR_MEMOS; i++)
                if (w->memos[i].region_id == region_id)
                        w->memos[i].signature = 0;
}

static uint32_t history_mask(unsigned n) {
        return n >= 32 ? UINT32_MAX : (UINT32_C(1) << n) - 1;
}

/* Polls in a row, from the latest, whose problem bit equals bit. */
static unsigned history_run(const struct watch_state *w, bool bit) {
        uint32_t h = bit ? ~w->history : w->history;
        unsigned run = h == 0 ? 32 : (unsigned) __builtin_ctz(h);

        return MIN(run, (unsigned) w->n_history);
}

static unsigned history_flips(const struct watch_state *w) {
        unsigned n = MIN((unsigned) w->n_history, (unsigned) FLAP_WINDOW);

        if (n < 2)
                return 0;
        return (unsigned) __builtin_popcount((w->history ^ (w->history >> 1)) & history_mask(n - 1));
}

bool watch_state_wants_fast(const struct watch_state *w) {
        if (w->gone || !w->snap)
                return false;
        return health_is_unsettled(w->snap) || health_is_problem(w->health) || w->alert ||
               (w->history & history_mask(MIN((unsigned) w->n_history, (unsigned) FLAP_WINDOW))) != 0;
}

/* Every deployment event starts the same way. */
static struct event *deployment_event(enum event_type type, const char *account, int64_t project_id,
                                      const char *name, usec_t now, struct event_list *out) {
        struct event *e = event_new(type, now, account, project_id, name);

        event_list_push(out, e);
        return e;
}

#define MSG(e, fmt, ...) \
        event_set_message(e, "%s (project %lld): " fmt, (e)->deployment, (long long) (e)->project_id, ##__VA_ARGS__)

static const struct container *first_error(const struct deployment *d) {
        for (size_t i = 0; i < d->n_containers; i++)
                if (d->containers[i].error_message)
                        return &d->containers[i];
        return NULL;
}

static char *error_regions(const struct deployment *d) {
        char *s = NULL;

        for (size_t i = 0; i < d->n_containers; i++)
                if (d->containers[i].error_message)
                        strextendf(&s, ",", "%lld", (long long) d->containers[i].region_id);
        return s ? s : xstrdup("");
}

/* A reason worth reading: the first container error, the stuck state, or the model's words. */
static char *describe_reason(const struct deployment *d, enum health h, const char *why, usec_t unsettled_for) {
        const struct container *c = first_error(d);
        char b[32];

        if (health_is_problem(h) && c)
                return xasprintf("region %lld: %s", (long long) c->region_id, c->error_message);
        if (health_is_problem(h))
                return xasprintf("%s for %s", d->status_enum == STATUS_ACTIVE ? "not all instances ready" : d->status,
                                 format_duration(b, unsettled_for));
        return xstrdup(why);
}

static void add_common(struct event *e, const struct deployment *d, enum health h) {
        event_add(e, "status", d->status);
        event_add(e, "health", health_to_string(h));
}

static void sum_ready(const struct deployment *d, int64_t *ready, int64_t *total) {
        *ready = *total = 0;
        for (size_t i = 0; i < d->n_containers; i++) {
                *ready += d->containers[i].ready;
                *total += d->containers[i].total;
        }
}

static void emit_discovered(const struct deployment *d, enum health h, const char *reason, const char *account,
                            usec_t now, struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_DISCOVERED, account, d->project_id, d->name, now, out);
        int64_t ready, total;

        sum_ready(d, &ready, &total);
        add_common(e, d, h);
        event_add(e, "reason", reason);
        event_add_int(e, "ready", ready);
        event_add_int(e, "total", total);
        event_add_int(e, "regions", (int64_t) d->n_containers);
        MSG(e, "discovered, %s, %s, %lld/%lld ready in %zu region%s", d->status, health_to_string(h),
            (long long) ready, (long long) total, d->n_containers, plural(d->n_containers));
}

static void emit_container_error(const struct deployment *d, const struct container *c, const char *old,
                                 enum health h, const char *account, usec_t now, struct event_list *out) {
        struct event *e = deployment_event(EVENT_CONTAINER_ERROR, account, d->project_id, d->name, now, out);

        add_common(e, d, h);
        event_add_int(e, "region_id", c->region_id);
        event_add(e, "error_message", c->error_message);
        event_add(e, "old_error_message", old);
        event_add_int(e, "ready", c->ready);
        event_add_int(e, "total", c->total);
        event_add(e, "flavor_name", d->flavor_name); /* for the capacity hint (context.c) */
        MSG(e, "region %lld: %s", (long long) c->region_id, c->error_message);
}

/* Returns FLAP_ERROR when an error went back to an earlier one without an event. */
static unsigned diff_containers(struct watch_state *w, const struct deployment *old, const struct deployment *d,
                                enum health h, const char *account, usec_t now, struct event_list *out) {
        unsigned quiet = 0;

        for (size_t i = 0; i < old->n_containers; i++) {
                const struct container *o = &old->containers[i];
                if (deployment_find_container(d, o->region_id))
                        continue;
                struct event *e = deployment_event(EVENT_CONTAINER_REMOVED, account, d->project_id, d->name, now, out);
                add_common(e, d, h);
                event_add_int(e, "region_id", o->region_id);
                event_add_int(e, "old_ready", o->ready);
                event_add_int(e, "old_total", o->total);
                MSG(e, "region %lld removed", (long long) o->region_id);
        }
        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                const struct container *o = deployment_find_container(old, c->region_id);
                struct event *e;

                if (!o) {
                        e = deployment_event(EVENT_CONTAINER_ADDED, account, d->project_id, d->name, now, out);
                        add_common(e, d, h);
                        event_add_int(e, "region_id", c->region_id);
                        event_add_int(e, "ready", c->ready);
                        event_add_int(e, "total", c->total);
                        MSG(e, "region %lld added, %lld/%lld ready", (long long) c->region_id, (long long) c->ready,
                            (long long) c->total);
                        if (c->error_message)
                                emit_container_error(d, c, NULL, h, account, now, out);
                        continue;
                }
                /* The same error in other words (a back-off that grew, another pod) is not news:
                 * the new text is kept in the snapshot for --status and the next event. */
                if (c->error_message && !error_same_signature(c->error_message, o->error_message)) {
                        if (error_is_news(w, c, o->error_message, now))
                                emit_container_error(d, c, o->error_message, h, account, now, out);
                        else
                                quiet |= FLAP_ERROR;
                } else if (!c->error_message && o->error_message) {
                        error_cleared(w, c->region_id);
                        e = deployment_event(EVENT_CONTAINER_ERROR_CLEARED, account, d->project_id, d->name, now, out);
                        add_common(e, d, h);
                        event_add_int(e, "region_id", c->region_id);
                        event_add(e, "old_error_message", o->error_message);
                        event_add_int(e, "ready", c->ready);
                        event_add_int(e, "total", c->total);
                        MSG(e, "region %lld: error cleared (was: %s)", (long long) c->region_id, o->error_message);
                }
                if (c->ready != o->ready || c->total != o->total) {
                        e = deployment_event(EVENT_CONTAINER_READY_CHANGED, account, d->project_id, d->name, now, out);
                        add_common(e, d, h);
                        event_add_int(e, "region_id", c->region_id);
                        event_add_int(e, "ready", c->ready);
                        event_add_int(e, "total", c->total);
                        event_add_int(e, "old_ready", o->ready);
                        event_add_int(e, "old_total", o->total);
                        MSG(e, "region %lld: %lld/%lld ready (was %lld/%lld)", (long long) c->region_id,
                            (long long) c->ready, (long long) c->total, (long long) o->ready, (long long) o->total);
                }
        }
        return quiet;
}

static bool scale_changed(const struct deployment *old, const struct deployment *d) {
        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *o = deployment_find_container(old, d->containers[i].region_id);
                if (o && (o->scale_min != d->containers[i].scale_min || o->scale_max != d->containers[i].scale_max))
                        return true;
        }
        return false;
}

static void diff_spec(const struct deployment *old, const struct deployment *d, enum health h,
                      const char *account, usec_t now, struct event_list *out) {
        static const struct {
                const char *name;
                size_t offset;
        } fields[] = {
                { "image", offsetof(struct deployment, image) },
                { "flavor_name", offsetof(struct deployment, flavor_name) },
                { "address", offsetof(struct deployment, address) },
                { "command", offsetof(struct deployment, command) },
                { "envs", offsetof(struct deployment, envs_keys) },
        };
        _cleanup_free_ char *changed = NULL;
        struct event *e;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const char *a = *(char *const *) ((const char *) old + fields[i].offset);
                const char *b = *(char *const *) ((const char *) d + fields[i].offset);
                if (!streq_ptr(a, b))
                        strextendf(&changed, ",", "%s", fields[i].name);
        }
        if (scale_changed(old, d))
                strextendf(&changed, ",", "scale");
        if (!changed)
                return;

        e = deployment_event(EVENT_DEPLOYMENT_SPEC_CHANGED, account, d->project_id, d->name, now, out);
        add_common(e, d, h);
        event_add(e, "changed", changed);
        if (!streq_ptr(old->image, d->image)) {
                event_add(e, "old_image", old->image);
                event_add(e, "new_image", d->image);
        }
        if (!streq_ptr(old->flavor_name, d->flavor_name)) {
                event_add(e, "old_flavor_name", old->flavor_name);
                event_add(e, "new_flavor_name", d->flavor_name);
        }
        if (!streq_ptr(old->image, d->image))
                MSG(e, "spec changed (%s), image %s → %s", changed, strempty(old->image), strempty(d->image));
        else
                MSG(e, "spec changed (%s)", changed);
}

static void open_alert(const struct diff_params *p, struct watch_state *w, const struct deployment *d,
                       enum health h, const char *reason, bool flapping, const char *account, usec_t now,
                       struct event_list *out) {
        struct alert_state *a;
        const struct container *c = first_error(d);
        struct event *e;
        char id[37];

        watch_state_close_alert(w);
        a = w->alert = xcalloc(1, sizeof(*a));
        a->open = true;
        if (sd_id128_randomize(&a->id) < 0)
                abort();
        a->started = a->last_notified = now;
        a->severity = xstrdup(h == HEALTH_FAILED ? "critical" : "warning");
        a->summary = xstrdup(reason);
        a->regions = error_regions(d);

        e = deployment_event(EVENT_ALERT_FIRING, account, d->project_id, d->name, now, out);
        add_common(e, d, h);
        event_add(e, "alert_id", event_id_to_string(a->id, id));
        event_add(e, "severity", a->severity);
        event_add(e, "reason", reason);
        event_add(e, "regions", a->regions);
        if (c) {
                event_add_int(e, "region_id", c->region_id);
                event_add(e, "error_message", c->error_message);
                event_add(e, "flavor_name", d->flavor_name);
        } else {
                /* No error to show: the region short of ready, for the capacity hint (context.c). */
                for (size_t i = 0; i < d->n_containers; i++)
                        if (d->containers[i].ready < d->containers[i].total) {
                                event_add_int(e, "short_region_id", d->containers[i].region_id);
                                event_add(e, "flavor_name", d->flavor_name);
                                break;
                        }
        }
        if (flapping)
                event_add(e, "flapping", "yes");
        MSG(e, "ALERT %s%s: %s", health_to_string(h), flapping ? " (flapping)" : "", reason);
}

/* A warning alert whose deployment is now failed becomes critical (never the other way: the
 * alert keeps the worst severity it had). */
static void escalate_alert(struct watch_state *w, const struct deployment *d, enum health h, const char *reason,
                           const char *account, usec_t now, struct event_list *out) {
        struct alert_state *a = w->alert;
        struct event *e;
        char id[37];

        e = deployment_event(EVENT_ALERT_ESCALATED, account, d->project_id, d->name, now, out);
        add_common(e, d, h);
        event_add(e, "alert_id", event_id_to_string(a->id, id));
        event_add(e, "severity", "critical");
        event_add(e, "old_severity", a->severity);
        event_add(e, "reason", reason);
        event_add(e, "regions", a->regions);
        event_add_int(e, "alert_started_usec", (int64_t) a->started);
        MSG(e, "ALERT escalated to critical, %s: %s", health_to_string(h), reason);
        free(a->severity);
        a->severity = xstrdup("critical");
}

/* recovered: the deployment is well again (not gone, not dropped from the configuration). */
static void resolve_alert(struct watch_state *w, const char *account, int64_t project_id, const char *name,
                          const char *status, enum health h, bool recovered, const char *why, usec_t now,
                          struct event_list *out) {
        struct alert_state *a = w->alert;
        struct event *e;
        char id[37], b[32];
        usec_t open_for = now > a->started ? now - a->started : 0;

        e = deployment_event(EVENT_ALERT_RESOLVED, account, project_id, name, now, out);
        event_add(e, "status", status);
        event_add(e, "health", health_to_string(h));
        event_add(e, "alert_id", event_id_to_string(a->id, id));
        event_add(e, "severity", a->severity);
        event_add(e, "reason", why);
        event_add(e, "regions", a->regions);
        event_add(e, "alert_reason", a->summary);
        event_add_int(e, "seconds_open", (int64_t) (open_for / USEC_PER_SEC));
        event_add_int(e, "alert_started_usec", (int64_t) a->started);
        if (!recovered)
                MSG(e, "alert resolved after %s: %s", format_duration(b, open_for), why);
        else
                MSG(e, "alert resolved after %s, now %s (%s)", format_duration(b, open_for), health_to_string(h), why);
        watch_state_close_alert(w);
}

static void remind_alert(struct watch_state *w, const struct deployment *d, enum health h, const char *reason,
                         const char *account, usec_t now, struct event_list *out) {
        struct alert_state *a = w->alert;
        struct event *e;
        char id[37], b[32];
        usec_t open_for = now > a->started ? now - a->started : 0;

        a->last_notified = now;
        e = deployment_event(EVENT_ALERT_REMINDER, account, d->project_id, d->name, now, out);
        add_common(e, d, h);
        event_add(e, "alert_id", event_id_to_string(a->id, id));
        event_add(e, "severity", a->severity);
        event_add(e, "reason", reason);
        event_add(e, "regions", a->regions);
        event_add_int(e, "seconds_open", (int64_t) (open_for / USEC_PER_SEC));
        event_add_int(e, "alert_started_usec", (int64_t) a->started);
        MSG(e, "alert still open after %s, %s: %s", format_duration(b, open_for), health_to_string(h), reason);
}

/* Damping: "for" problem polls in a row (or flapping) open an alert, "resolve_for" good polls
 * in a row without flapping close it, and an open alert is re-announced every repeat_interval. */
static void update_alert(const struct diff_params *p, struct watch_state *w, const struct deployment *d,
                         enum health h, const char *reason, bool problem, const char *account, usec_t now,
                         struct event_list *out) {
        bool flapping;

        w->history = w->history << 1 | (problem ? 1u : 0u);
        if (w->n_history < 32)
                w->n_history++;
        flapping = history_flips(w) >= FLAP_FLIPS;

        if (!w->alert) {
                if (problem && (history_run(w, true) >= p->alert_for || flapping))
                        open_alert(p, w, d, h, reason, flapping && history_run(w, true) < p->alert_for,
                                   account, now, out);
                return;
        }
        if (!problem && history_run(w, false) >= p->resolve_for && !flapping) {
                resolve_alert(w, account, d->project_id, d->name, d->status, h, true, reason, now, out);
                return;
        }
        if (h == HEALTH_FAILED && !streq_ptr(w->alert->severity, "critical"))
                escalate_alert(w, d, h, reason, account, now, out);
        if (p->repeat_interval > 0 && now >= w->alert->last_notified + p->repeat_interval)
                remind_alert(w, d, h, reason, account, now, out);
}

static void emit_flap_ended(const struct flap_state *f, int64_t project_id, const char *name, const char *status,
                            enum health h, const char *reason, const char *account, usec_t now,
                            struct event_list *out);

static void observe_gone(struct watch_state *w, const char *account, int64_t project_id, const char *name,
                         usec_t now, struct event_list *out) {
        struct event *e;
        char b[32];

        if (w->gone)
                return;
        e = deployment_event(EVENT_DEPLOYMENT_GONE, account, project_id, name, now, out);
        if (w->snap) {
                event_add(e, "old_status", w->snap->status);
                event_add(e, "old_health", health_to_string(w->health));
                event_add_int(e, "seconds_in_previous", (int64_t) ((now - MIN(now, w->status_since)) / USEC_PER_SEC));
                MSG(e, "gone (was %s for %s)", w->snap->status, format_duration(b, now - MIN(now, w->status_since)));
        } else
                MSG(e, "does not exist");
        event_add(e, "health", "gone");
        if (w->alert)
                resolve_alert(w, account, project_id, name, w->snap ? w->snap->status : "", HEALTH_GONE, false,
                              "deployment gone", now, out);
        /* Every deployment.flapping has its end: a flap does not outlive its deployment. */
        if (w->flap.flapping)
                emit_flap_ended(&w->flap, project_id, name, w->snap ? w->snap->status : "", HEALTH_GONE,
                                "deployment gone", account, now, out);
        flap_state_done(&w->flap);
        w->snap = deployment_free(w->snap);
        forget_errors(w);
        w->health = HEALTH_GONE;
        w->gone = true;
        w->history = 0;
        w->n_history = 0;
        w->stuck_reported = false;
        w->unsettled_since = 0;
        w->status_since = now;
}

/* with_health: the health changed in the same poll, and its deployment.health_changed tells
 * this change too (OLD_STATUS): then this one stays at info, in the journal but not shouted
 * twice (nor sent to a webhook whose min_priority is notice). */
static void emit_status_changed(const struct deployment *old, const struct deployment *d, enum health h,
                                bool with_health, usec_t in_old, const char *account, usec_t now,
                                struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_STATUS_CHANGED, account, d->project_id, d->name, now, out);
        char b[32];

        if (health_is_problem(h) && !with_health)
                e->priority = health_priority(h);
        event_add(e, "old_status", old->status);
        event_add(e, "new_status", d->status);
        event_add(e, "status", d->status);
        event_add(e, "health", health_to_string(h));
        event_add_int(e, "seconds_in_previous", (int64_t) (in_old / USEC_PER_SEC));
        MSG(e, "%s → %s after %s", old->status, d->status, format_duration(b, in_old));
}

/* old_status: the status before, when it changed in the same poll; else NULL. */
static void emit_health_changed(const struct deployment *d, enum health old, enum health h, const char *old_status,
                                const char *reason, const char *account, usec_t now, struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_HEALTH_CHANGED, account, d->project_id, d->name, now, out);

        e->priority = health_priority(h);
        event_add(e, "status", d->status);
        event_add(e, "old_status", old_status);
        event_add(e, "old_health", health_to_string(old));
        event_add(e, "health", health_to_string(h));
        event_add(e, "reason", reason);
        if (old_status)
                MSG(e, "health %s → %s, status %s → %s (%s)", health_to_string(old), health_to_string(h), old_status,
                    d->status, reason);
        else
                MSG(e, "health %s → %s (%s)", health_to_string(old), health_to_string(h), reason);
}

static void emit_stuck(const struct deployment *d, enum health h, usec_t unsettled_for, const char *account,
                       usec_t now, struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_STUCK, account, d->project_id, d->name, now, out);
        char b[32];

        add_common(e, d, h);
        event_add_int(e, "seconds_unsettled", (int64_t) (unsettled_for / USEC_PER_SEC));
        if (d->status_enum == STATUS_ACTIVE)
                MSG(e, "stuck: not all instances ready for %s", format_duration(b, unsettled_for));
        else
                MSG(e, "stuck in %s for %s", d->status, format_duration(b, unsettled_for));
}

static bool same_container(const struct container *a, const struct container *b) {
        return a->region_id == b->region_id && a->ready == b->ready && a->total == b->total &&
               streq_ptr(a->error_message, b->error_message) &&
               a->scale_min == b->scale_min && a->scale_max == b->scale_max;
}

/* Whether a new snapshot says what the stored one says, identity aside (the stored one carries
 * the name and project asked for, whatever the body claimed). */
static bool same_snapshot(const struct deployment *stored, const struct deployment *d) {
        if (!streq_ptr(stored->status, d->status) || stored->status_enum != d->status_enum ||
            !streq_ptr(stored->image, d->image) || !streq_ptr(stored->flavor_name, d->flavor_name) ||
            !streq_ptr(stored->address, d->address) || !streq_ptr(stored->command, d->command) ||
            !streq_ptr(stored->envs_keys, d->envs_keys) || stored->n_containers != d->n_containers)
                return false;
        for (size_t i = 0; i < d->n_containers; i++)
                if (!same_container(&stored->containers[i], &d->containers[i]))
                        return false;
        return true;
}

/* What matters of a poll for flapping: status, health and, per region, the signature of its
 * error and whether it serves all its instances or how many it serves: a crash-loop whose
 * ready count goes up and down flaps, an autoscaler that resizes a fully ready region does not;
 * the wording of an error does not matter. */
static uint64_t flap_key(const struct deployment *d, enum health h) {
        uint64_t k = hash_bytes(HASH_INIT, d->status, strlen(d->status) + 1);

        k = hash_bytes(k, &h, sizeof(h));
        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                bool all = c->ready >= c->total;
                _cleanup_free_ char *sig = error_signature(c->error_message);

                k = hash_bytes(k, &c->region_id, sizeof(c->region_id));
                k = hash_bytes(k, &all, sizeof(all));
                if (!all) {
                        k = hash_bytes(k, &c->ready, sizeof(c->ready));
                        k = hash_bytes(k, &c->total, sizeof(c->total));
                }
                k = hash_bytes(k, sig, strlen(sig) + 1);
        }
        return k;
}

/* The events a flap is made of (what they change), kept at debug priority while it lasts. */
static unsigned flap_aspect(enum event_type t) {
        switch (t) {
        case EVENT_DEPLOYMENT_STATUS_CHANGED:
                return FLAP_STATUS;
        case EVENT_DEPLOYMENT_HEALTH_CHANGED:
                return FLAP_HEALTH;
        case EVENT_CONTAINER_ERROR:
        case EVENT_CONTAINER_ERROR_CLEARED:
                return FLAP_ERROR;
        case EVENT_CONTAINER_READY_CHANGED:
                return FLAP_READY;
        case EVENT_CONTAINER_ADDED:
        case EVENT_CONTAINER_REMOVED:
                return FLAP_REGIONS;
        default:
                return 0;
        }
}

/* The errors a flap starts with are part of it: the regions' errors before and after the poll
 * that started it (that poll went back to a state of the window, errors included). */
static void remember_flap_errors(struct watch_state *w, const struct deployment *d) {
        for (size_t i = 0; w->snap && i < w->snap->n_containers; i++)
                if (w->snap->containers[i].error_message)
                        flap_signature_is_new(&w->flap, signature_hash(w->snap->containers[i].error_message), false);
        for (size_t i = 0; i < d->n_containers; i++)
                if (d->containers[i].error_message)
                        flap_signature_is_new(&w->flap, signature_hash(d->containers[i].error_message), false);
}

/* The changes of a flap go to debug, except a container.error of a kind the episode has not seen:
 * a new failure is not hidden by an unrelated flap (once per signature: its repeats are the
 * flap's). */
static void demote_flap_events(struct watch_state *w, struct event_list *out, size_t first) {
        for (size_t i = first; i < out->n; i++) {
                struct event *e = out->items[i];

                if (!flap_aspect(e->type))
                        continue;
                if (e->type == EVENT_CONTAINER_ERROR &&
                    flap_signature_is_new(&w->flap, signature_hash(event_get(e, "error_message")), true))
                        continue;
                e->priority = LOG_DEBUG;
                event_add(e, "flapping", "yes");
        }
}

static void emit_flapping(const struct diff_params *p, const struct flap_state *f, const struct deployment *d,
                          enum health h, const char *reason, const char *account, usec_t now, struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_FLAPPING, account, d->project_id, d->name, now, out);
        char what[64], b[32];

        add_common(e, d, h);
        event_add(e, "reason", reason);
        event_add(e, "flaps", flap_aspects_to_string(f->hist->aspects, what));
        event_add_int(e, "returns", f->hist->returns);
        event_add_int(e, "window_polls", p->flap.window);
        event_add_int(e, "stable_seconds", (int64_t) (p->flap.stable / USEC_PER_SEC));
        MSG(e, "flapping: %s went back and forth %u times in the last %u polls, now %s, %s (%s); its changes are "
            "logged at debug priority until it is stable for %s", what, f->hist->returns, p->flap.window, d->status,
            health_to_string(h), reason, format_duration(b, p->flap.stable));
}

/* The end of a flap: stable again for flap_stable, or gone (status: the last one seen, h gone). */
static void emit_flap_ended(const struct flap_state *f, int64_t project_id, const char *name, const char *status,
                            enum health h, const char *reason, const char *account, usec_t now,
                            struct event_list *out) {
        struct event *e = deployment_event(EVENT_DEPLOYMENT_FLAPPING_ENDED, account, project_id, name, now, out);
        usec_t lasted = f->hist->last_change - MIN(f->hist->last_change, f->hist->since);
        unsigned n_new = flap_new_signatures(f);
        char what[64], b[32], b2[32], news[64] = "";

        event_add(e, "status", status);
        event_add(e, "health", health_to_string(h));
        event_add(e, "reason", reason);
        event_add(e, "flaps", flap_aspects_to_string(f->hist->aspects, what));
        event_add_int(e, "changes", f->hist->changes);
        event_add_int(e, "seconds_flapping", (int64_t) (lasted / USEC_PER_SEC));
        event_add_int(e, "seconds_stable", (int64_t) ((now - MIN(now, f->hist->last_change)) / USEC_PER_SEC));
        event_add_int(e, "new_errors", n_new);
        if (n_new > 0)
                snprintf(news, sizeof(news), "; %u new kind%s of error reported during it", n_new, plural(n_new));
        if (h == HEALTH_GONE)
                MSG(e, "gone while flapping, after flapping for %s (%u changes of %s%s); was %s",
                    format_duration(b2, lasted), f->hist->changes, what, news, status);
        else
                MSG(e, "stable again for %s after flapping for %s (%u changes of %s%s); now %s, %s (%s)",
                    format_duration(b, now - MIN(now, f->hist->last_change)), format_duration(b2, lasted), f->hist->changes, what,
                    news, status, health_to_string(h), reason);
}

/* Flap control for every event of the poll (those from out->items[first] on). same: the state
 * is the one of the previous poll, whose key is reused; quiet: what changed without an event. */
static void update_flap(const struct diff_params *p, struct watch_state *w, const struct deployment *d, enum health h,
                        const char *reason, bool same, unsigned quiet, const char *account, usec_t now,
                        struct event_list *out, size_t first) {
        uint64_t key = same && w->flap.n_keys > 0 ? w->flap.key : flap_key(d, h);
        unsigned aspects = quiet;

        for (size_t i = first; i < out->n; i++)
                aspects |= flap_aspect(out->items[i]->type);
        switch (flap_observe(&p->flap, &w->flap, key, aspects, now)) {
        case FLAP_STARTED:
                remember_flap_errors(w, d);
                demote_flap_events(w, out, first);
                emit_flapping(p, &w->flap, d, h, reason, account, now, out);
                break;
        case FLAP_ONGOING:
                demote_flap_events(w, out, first);
                break;
        case FLAP_ENDED:
                emit_flap_ended(&w->flap, d->project_id, d->name, d->status, h, reason, account, now, out);
                break;
        case FLAP_CALM:
                break;
        }
}

void diff_observe(const struct diff_params *p, struct watch_state *w, const char *account, int64_t project_id,
                  const char *name, const struct deployment *snap, usec_t now, struct event_list *out) {
        _cleanup_free_ char *reason = NULL;
        struct deployment *d;
        usec_t unsettled_for;
        enum health h;
        const char *why;
        bool first, stuck;
        size_t first_event = out->n;
        unsigned quiet = 0;

        if (!snap) {
                observe_gone(w, account, project_id, name, now, out);
                return;
        }

        /* Most polls see what the last one saw: then the stored snapshot stays, instead of a copy
         * of the new one (a dozen allocations per deployment and poll). */
        if (w->snap && same_snapshot(w->snap, snap))
                d = w->snap;
        else {
                /* Identity comes from what was asked for, not from what the body claims; the
                 * caller's name, which outlives the snapshot, is its name. */
                d = deployment_dup_borrowing(snap, name);
                d->project_id = project_id;
        }
        first = !w->snap;

        if (!health_is_unsettled(d))
                w->unsettled_since = 0;
        else if (first || w->unsettled_since == 0)
                w->unsettled_since = now;
        unsettled_for = w->unsettled_since ? now - MIN(now, w->unsettled_since) : 0;
        stuck = w->unsettled_since && unsettled_for >= p->stuck_after;
        h = health_compute(d, unsettled_for, p->stuck_after, &why);
        reason = describe_reason(d, h, why, unsettled_for);

        if (first) {
                emit_discovered(d, h, reason, account, now, out);
                for (size_t i = 0; i < d->n_containers; i++)
                        if (d->containers[i].error_message)
                                emit_container_error(d, &d->containers[i], NULL, h, account, now, out);
                w->gone = false;
                w->history = 0;
                w->n_history = 0;
                flap_state_done(&w->flap);
                w->flap = (struct flap_state) {};
                forget_errors(w);
                w->stuck_reported = false;
                w->status_since = now;
        } else {
                bool status_changed = !streq(w->snap->status, d->status);

                if (status_changed) {
                        emit_status_changed(w->snap, d, h, h != w->health, now - MIN(now, w->status_since), account,
                                            now, out);
                        w->status_since = now;
                }
                quiet = diff_containers(w, w->snap, d, h, account, now, out);
                diff_spec(w->snap, d, h, account, now, out);
                if (h != w->health)
                        emit_health_changed(d, w->health, h, status_changed ? w->snap->status : NULL, reason, account,
                                            now, out);
        }

        if (!w->unsettled_since)
                w->stuck_reported = false;
        else if (stuck && !w->stuck_reported) {
                emit_stuck(d, h, unsettled_for, account, now, out);
                w->stuck_reported = true;
        }

        update_flap(p, w, d, h, reason, d == w->snap && h == w->health, quiet, account, now, out, first_event);
        update_alert(p, w, d, h, reason, health_is_problem(h) || stuck, account, now, out);
        if (d != w->snap) {
                deployment_free(w->snap);
                w->snap = d;
        }
        w->health = h;
}

void diff_forget(struct watch_state *w, const char *account, int64_t project_id, const char *name, usec_t now,
                 struct event_list *out) {
        if (w->alert)
                resolve_alert(w, account, project_id, name, w->snap ? w->snap->status : "", w->health, false,
                              "no longer watched", now, out);
}

void diff_api_failure(const struct diff_params *p, struct api_state *s, const char *account, const char *url,
                      const struct api_error *err, usec_t now, struct event_list *out) {
        struct event *e;

        s->failures++;
        if (s->unreachable || s->failures < p->unreachable_after)
                return;
        s->unreachable = true;
        s->unreachable_since = now;
        e = event_new(EVENT_API_UNREACHABLE, now, account, 0, NULL);
        event_list_push(out, e);
        event_add(e, "api_url", url);
        event_add_int(e, "failures", s->failures);
        event_add(e, "api_error", err->summary);
        if (err->http_status)
                event_add_int(e, "http_status", err->http_status);
        event_add(e, "request_id", err->request_id);
        event_set_message(e, "API %s (%s) unreachable: %u polls failed in a row, last: %s", account, url,
                          s->failures, strempty(err->summary));
}

void diff_api_success(struct api_state *s, const char *account, const char *url, usec_t now,
                      struct event_list *out) {
        struct event *e;
        char b[32];

        if (s->unreachable) {
                usec_t down = now - MIN(now, s->unreachable_since);
                e = event_new(EVENT_API_RECOVERED, now, account, 0, NULL);
                event_list_push(out, e);
                event_add(e, "api_url", url);
                event_add_int(e, "seconds_unreachable", (int64_t) (down / USEC_PER_SEC));
                event_set_message(e, "API %s (%s) reachable again after %s", account, url, format_duration(b, down));
        }
        *s = (struct api_state) {};
}

void diff_unobservable(const struct diff_params *p, struct watch_state *w, const char *account,
                       int64_t project_id, const char *name, unsigned failures, const struct api_error *err,
                       usec_t now, struct event_list *out) {
        struct event *e;

        if (w->unobservable_since || failures < p->unreachable_after)
                return;
        w->unobservable_since = (uint32_t) MAX(now / USEC_PER_SEC, (usec_t) 1);
        e = deployment_event(EVENT_DEPLOYMENT_UNOBSERVABLE, account, project_id, name, now, out);
        if (w->snap)
                add_common(e, w->snap, w->health);
        event_add_int(e, "failures", failures);
        event_add(e, "api_error", err->summary);
        if (err->http_status)
                event_add_int(e, "http_status", err->http_status);
        event_add(e, "request_id", err->request_id);
        MSG(e, "cannot be observed: %u polls of it failed in a row, last: %s; it keeps its last known state and "
            "is polled less often", failures, strempty(err->summary));
}

void diff_observable(struct watch_state *w, const char *account, int64_t project_id, const char *name,
                     usec_t now, struct event_list *out) {
        usec_t since = (usec_t) w->unobservable_since * USEC_PER_SEC, down = now - MIN(now, since);
        struct event *e;
        char b[32];

        if (!w->unobservable_since)
                return;
        w->unobservable_since = 0;
        e = deployment_event(EVENT_DEPLOYMENT_OBSERVABLE, account, project_id, name, now, out);
        event_add_int(e, "seconds_unobservable", (int64_t) (down / USEC_PER_SEC));
        MSG(e, "observed again after %s", format_duration(b, down));
}

void diff_auth_failure(bool *auth_failed, const char *account, int64_t project_id, const struct api_error *err,
                       usec_t now, struct event_list *out) {
        struct event *e;

        if (*auth_failed)
                return;
        *auth_failed = true;
        e = event_new(EVENT_API_AUTH_FAILED, now, account, project_id, NULL);
        event_list_push(out, e);
        event_add_int(e, "http_status", err->http_status);
        event_add(e, "api_error", err->message ? err->message : err->summary);
        event_add(e, "request_id", err->request_id);
        event_set_message(e, "API %s, project %lld: authentication failed (%s); check the API key", account,
                          (long long) project_id, err->message ? err->message : strempty(err->summary));
}

void diff_auth_success(bool *auth_failed, const char *account, int64_t project_id, usec_t now,
                       struct event_list *out) {
        struct event *e;

        if (!*auth_failed)
                return;
        *auth_failed = false;
        e = event_new(EVENT_API_RECOVERED, now, account, project_id, NULL);
        event_list_push(out, e);
        event_add(e, "reason", "authentication accepted again");
        event_set_message(e, "API %s, project %lld: authentication accepted again", account, (long long) project_id);
}
