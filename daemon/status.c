#include <json-c/json.h>
#include <stdio.h>

#include "cluster.h"
#include "config.h"
#include "context.h"
#include "lock.h"
#include "region.h"
#include "state.h"
#include "status.h"

/* Whether a daemon holds the state directory, asked of its lock (which --status never takes). */
struct holder {
        int held;                 /* 1 held, 0 not, a negative errno when it cannot tell */
        pid_t pid;                /* the holder, 0 if unknown */
};

static const char *ago(char buf[static 48], usec_t then, usec_t now) {
        char d[32];

        if (!then)
                return "never";
        snprintf(buf, 48, "%s ago", format_duration(d, now > then ? now - then : 0));
        return buf;
}

static struct json_object *json_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

/* A member of a cluster notes its role in the state directory ({"member", "role", "leader",
 * "written"}); NULL when not clustered or not written yet. */
static struct json_object *read_cluster(const struct config *c) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (c->cluster.n_endpoints == 0)
                return NULL;
        path = xasprintf("%s/" CLUSTER_STATUS_FILE, c->state_directory);
        if (read_full_file(path, 64 * 1024, &text, NULL) < 0)
                return NULL;
        return json_tokener_parse(text);
}

static const char *member_str(struct json_object *o, const char *key) {
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static const char *or_unknown(const char *s) {
        return s ? s : "unknown";
}

static void print_cluster(struct json_object *cl) {
        if (!cl)
                return;
        printf("Cluster: member %s, %s; leader %s (noted %s)\n", or_unknown(member_str(cl, "member")),
               or_unknown(member_str(cl, "role")), or_unknown(member_str(cl, "leader")),
               or_unknown(member_str(cl, "written")));
}
static void print_json(const struct saved_state *s, const struct holder *h, struct json_object *cl,
                       struct json_object *context) {
        struct json_object *top = json_object_new_object(), *a = json_object_new_array();
        char t[32], id[37];

        json_object_object_add(top, "cluster", cl ? json_object_get(cl) : NULL);
        json_object_object_add(top, "written", json_str(format_rfc3339(t, s->written)));
        json_object_object_add(top, "pid", json_object_new_int(s->pid));
        json_object_object_add(top, "running", h->held >= 0 ? json_object_new_boolean(h->held) : NULL);
        json_object_object_add(top, "daemon_pid", h->held > 0 && h->pid > 0 ? json_object_new_int(h->pid) : NULL);
        for (size_t i = 0; i < s->n_watches; i++) {
                const struct watch_record *r = &s->watches[i];
                const struct watch_state *w = &r->state;
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "account", json_str(r->account));
                json_object_object_add(o, "project_id", json_object_new_int64(r->project_id));
                json_object_object_add(o, "deployment", json_str(r->name));
                json_object_object_add(o, "status", json_str(w->snap ? w->snap->status : NULL));
                json_object_object_add(o, "health", json_str(health_to_string(w->health)));
                json_object_object_add(o, "status_since", w->status_since ? json_str(format_rfc3339(t, w->status_since)) : NULL);
                json_object_object_add(o, "last_error", json_str(r->last_error));
                json_object_object_add(o, "containers", deployment_containers_json(w->snap));
                if (w->alert) {
                        struct json_object *al = json_object_new_object();
                        json_object_object_add(al, "id", json_str(event_id_to_string(w->alert->id, id)));
                        json_object_object_add(al, "severity", json_str(w->alert->severity));
                        json_object_object_add(al, "since", json_str(format_rfc3339(t, w->alert->started)));
                        json_object_object_add(al, "reason", json_str(w->alert->summary));
                        json_object_object_add(o, "alert", al);
                } else
                        json_object_object_add(o, "alert", NULL);
                json_object_array_add(a, o);
        }
        json_object_object_add(top, "deployments", a);

        a = json_object_new_array();
        for (size_t i = 0; i < s->n_accounts; i++) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_str(s->accounts[i].name));
                json_object_object_add(o, "url", json_str(s->accounts[i].url));
                json_object_object_add(o, "unreachable", json_object_new_boolean(s->accounts[i].api.unreachable));
                json_object_object_add(o, "failures", json_object_new_int64(s->accounts[i].api.failures));
                json_object_array_add(a, o);
        }
        json_object_object_add(top, "accounts", a);

        a = json_object_new_array();
        for (size_t i = 0; i < s->n_webhooks; i++) {
                const struct webhook_record *w = &s->webhooks[i];
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_str(w->name));
                json_object_object_add(o, "delivered", json_object_new_int64((int64_t) w->delivered));
                json_object_object_add(o, "retrying", json_object_new_int64((int64_t) w->retrying));
                json_object_object_add(o, "dropped", json_object_new_int64((int64_t) w->dropped));
                json_object_object_add(o, "backlog", json_object_new_int64((int64_t) w->backlog));
                json_object_object_add(o, "disabled", json_object_new_boolean(w->disabled));
                json_object_object_add(o, "last_attempt", w->last_attempt ? json_str(format_rfc3339(t, w->last_attempt)) : NULL);
                json_object_object_add(o, "last_result", json_str(w->last_result));
                json_object_array_add(a, o);
        }
        json_object_object_add(top, "webhooks", a);
        /* Region directories and the extra API requests (regions, log tails) counted so far. */
        json_object_object_add(top, "context", json_object_get(context));
        _cleanup_free_ char *text = json_sanitize(json_object_to_json_string_ext(
                top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        printf("%s\n", text);
        json_object_put(top);
}

/* Every string comes from the state file, most of them from the API at first: escaped, so that
 * each row stays one line and nothing reaches the terminal as a control sequence. */
static void print_watch(const struct watch_record *r, struct json_object *context, usec_t now) {
        const struct watch_state *w = &r->state;
        _cleanup_free_ char *name = cescape_cell(strempty(r->name));
        _cleanup_free_ char *status = cescape_cell(w->snap ? w->snap->status : "-");
        _cleanup_free_ char *error = cescape_cell(r->last_error ? r->last_error : "-");
        _cleanup_free_ char *severity = cescape_cell(w->alert ? strempty(w->alert->severity) : "-");
        char since[32] = "-";

        if (w->status_since)
                format_duration(since, now > w->status_since ? now - w->status_since : 0);
        printf("%-10lld %-30s %-18s %-12s %-14s %-10s %s\n", (long long) r->project_id, name, status,
               health_to_string(w->health), since, severity, error);
        struct region_directory dir;

        context_saved_directory(context, r->account, &dir);
        for (size_t k = 0; w->snap && k < w->snap->n_containers; k++) {
                const struct container *c = &w->snap->containers[k];
                _cleanup_free_ char *message = NULL, *label = NULL, *region = NULL;
                if (!c->error_message)
                        continue;
                message = cescape_cell(c->error_message);
                label = region_label(&dir, c->region_id);
                region = cescape_cell(label);
                printf("%-10s   region %s: %s\n", "", region, message);
        }
        region_directory_done(&dir);
}

static void print_requests(struct json_object *context) {
        struct json_object *req, *v;
        uint64_t n[4] = {};
        static const char *const keys[] = { "regions", "logs", "capacity", "failed" };

        if (!json_object_object_get_ex(context, "requests", &req))
                return;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_object_object_get_ex(req, keys[i], &v))
                        n[i] = json_object_get_uint64(v);
        printf("\nExtra API requests: %llu region directory, %llu log tail%s, %llu capacity (%llu failed)\n",
               (unsigned long long) n[0], (unsigned long long) n[1], plural(n[1]), (unsigned long long) n[2],
               (unsigned long long) n[3]);
}

static void print_holder(const struct holder *h, const char *dir) {
        _cleanup_free_ char *d = cescape_cell(dir);

        if (h->held > 0 && h->pid > 0)
                printf("Daemon: running, pid %ld holds %s\n", (long) h->pid, d);
        else if (h->held > 0)
                printf("Daemon: running, a process holds %s\n", d);
        else if (h->held == 0)
                printf("Daemon: not running (no inferwatchd holds %s)\n", d);
        else
                printf("Daemon: unknown (cannot check the lock of %s: %s)\n", d, strerror(-h->held));
}

static void print_text(const struct saved_state *s, const struct holder *h, const char *dir, struct json_object *cl,
                       struct json_object *context) {
        usec_t now = now_usec(CLOCK_REALTIME);
        char t[32], b1[48];

        if (s->written)
                printf("State written %s (%s) by pid %d\n", format_rfc3339(t, s->written), ago(b1, s->written, now),
                       (int) s->pid);
        print_holder(h, dir);
        print_cluster(cl);
        printf("\n");
        printf("%-10s %-30s %-18s %-12s %-14s %-10s %s\n", "PROJECT", "DEPLOYMENT", "STATUS", "HEALTH", "SINCE",
               "ALERT", "LAST ERROR");
        for (size_t i = 0; i < s->n_watches; i++)
                print_watch(&s->watches[i], context, now);
        printf("\nAPI accounts:\n");
        for (size_t i = 0; i < s->n_accounts; i++) {
                const struct account_record *a = &s->accounts[i];
                _cleanup_free_ char *name = cescape_cell(strempty(a->name)), *url = cescape_cell(strempty(a->url));
                printf("  %-16s %-40s %s\n", name, url,
                       a->api.unreachable ? "UNREACHABLE" : a->api.failures ? "failing" : "reachable");
        }
        if (s->n_webhooks > 0)
                printf("\nWebhooks:\n");
        for (size_t i = 0; i < s->n_webhooks; i++) {
                const struct webhook_record *w = &s->webhooks[i];
                _cleanup_free_ char *name = cescape_cell(strempty(w->name));
                _cleanup_free_ char *result = cescape_cell(w->last_result ? w->last_result : "none");
                printf("  %-16s delivered %llu, retrying %llu, dropped %llu, backlog %llu%s; last: %s (%s)\n",
                       name, (unsigned long long) w->delivered, (unsigned long long) w->retrying,
                       (unsigned long long) w->dropped, (unsigned long long) w->backlog,
                       w->disabled ? ", DISABLED" : "", result, ago(b1, w->last_attempt, now));
        }
        print_requests(context);
}

int run_status(const char *config_path, bool json) {
        struct config_diag diag = {};
        struct config *c = NULL;
        struct saved_state s = {};
        struct json_object *context = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *why = NULL;
        struct holder h = {};
        struct json_object *cl = NULL;
        int r;

        /* Only the state directory is needed: no secret is read. */
        r = config_load(config_path, CONFIG_LOAD_SKIP_SECRETS, &diag, &c);
        config_diag_print(&diag, stderr);
        config_diag_done(&diag);
        if (r < 0)
                return 1;
        path = state_path(c->state_directory);
        h.held = state_lock_holder(c->state_directory, &h.pid);
        r = read_full_file(path, 256U * 1024 * 1024, &text, NULL);
        cl = read_cluster(c);
        /* A member that never led has no state of its own: its role is all there is to show. */
        if (r == -ENOENT && cl)
                r = 0;
        if (r < 0) {
                fprintf(stderr, "No state to show: cannot read %s: %s%s\n", path, strerror(-r),
                        h.held > 0 ? " (a daemon holds the directory: it has not saved yet?)"
                        : r == -ENOENT ? " (has inferwatchd run yet?)" : "");
                json_object_put(cl);
                config_free(c);
                return 1;
        }
        r = text ? state_from_json(text, &s, &why) : 0;
        if (r < 0) {
                fprintf(stderr, "%s is not a state file this version reads: %s\n", path, why);
                json_object_put(cl);
                config_free(c);
                return 1;
        }
        (void) context_read_saved(c->state_directory, &context);
        if (json)
                print_json(&s, &h, cl, context);
        else
                print_text(&s, &h, c->state_directory, cl, context);
        json_object_put(cl);
        json_object_put(context);
        saved_state_done(&s);
        config_free(c);
        return 0;
}
