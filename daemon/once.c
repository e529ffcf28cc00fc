#include <json-c/json.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "context.h"
#include "log.h"
#include "monitor.h"
#include "once.h"
#include "region.h"

struct once {
        sd_event *event;
        struct monitor *monitor;
        struct json_object *rows;     /* --json */
        FILE *table;                  /* the text table, printed after the summary line */
        size_t n_by_health[_HEALTH_MAX];
        size_t n_unpolled;
        bool json;
        /* The daemon's region directories, when its state directory is readable: names at no
         * API cost (a check run every minute should not fetch them). NULL: ids only. */
        struct json_object *context;
};

static int on_post(sd_event_source *s, void *userdata) {
        struct once *o = userdata;

        if (monitor_once_done(o->monitor))
                return sd_event_exit(o->event, 0);
        return 0;
}

static void table_row(FILE *f, int64_t project_id, const char *name, const char *status, const char *health,
                      const char *regions, const char *error) {
        /* Text from the API: a newline in an error message must not start a new row. */
        _cleanup_free_ char *n = cescape_cell(name), *s = cescape_cell(status), *e = cescape_cell(error);

        fprintf(f, "%-10lld %-30s %-18s %-12s %-24s %s\n", (long long) project_id, n, s, health, regions, e);
}

/* "Paris-1(1):2/2 Luxembourg-2(7):0/1", by id alone where the directory does not name the
 * region ("7:0/1"); "-" when there is no container, so that the column is never empty. One word
 * a region: a space in a name is shown as "_". */
static char *regions_text(const struct deployment *d, const struct region_directory *dir) {
        char *s = NULL;

        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                const struct region *r = region_directory_find(dir, c->region_id);
                _cleanup_free_ char *name = r && r->name && *r->name ? cescape_cell(r->name) : NULL;
                for (char *p = name; p && *p; p++)
                        if (*p == ' ')
                                *p = '_';
                strextendf(&s, " ", "%s%s%lld%s:%lld/%lld", strempty(name), name ? "(" : "", (long long) c->region_id,
                           name ? ")" : "", (long long) c->ready, (long long) c->total);
        }
        return s ? s : xstrdup("-");
}

static char *errors_text(const struct deployment *d, const struct region_directory *dir) {
        char *s = NULL;

        for (size_t i = 0; i < d->n_containers; i++) {
                const struct container *c = &d->containers[i];
                _cleanup_free_ char *region = NULL;
                if (!c->error_message)
                        continue;
                region = region_label(dir, c->region_id);
                strextendf(&s, "; ", "region %s: %s", region, c->error_message);
        }
        return s;
}

/* deployment_containers_json, with "region_name" where the directory knows the region. */
static struct json_object *containers_json(const struct deployment *d, const char *account,
                                           struct json_object *context) {
        struct json_object *a = deployment_containers_json(d);
        struct region_directory dir;

        context_saved_directory(context, account, &dir);
        for (size_t i = 0; d && i < d->n_containers && i < json_object_array_length(a); i++) {
                const struct region *r = region_directory_find(&dir, d->containers[i].region_id);
                if (r && r->name)
                        json_object_object_add(json_object_array_get_idx(a, i), "region_name",
                                               json_object_new_string(r->name));
        }
        region_directory_done(&dir);
        return a;
}

static struct json_object *row_json(const struct once *once, const char *account, int64_t project_id,
                                    const char *name, const struct watch_state *w, const char *error) {
        struct json_object *o = json_object_new_object();
        const struct deployment *d = w->snap;

        json_object_object_add(o, "account", json_object_new_string(account));
        json_object_object_add(o, "project_id", json_object_new_int64(project_id));
        json_object_object_add(o, "deployment", json_object_new_string(name));
        json_object_object_add(o, "status", d ? json_object_new_string(d->status) : NULL);
        json_object_object_add(o, "health", json_object_new_string(health_to_string(w->health)));
        json_object_object_add(o, "containers", containers_json(d, account, once->context));
        json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
        return o;
}

static void add_row(const char *account, int64_t project_id, const char *name, const struct watch_state *w,
                    const char *error, void *userdata) {
        struct once *o = userdata;
        enum health h = w->snap || w->gone ? w->health : HEALTH_UNKNOWN;

        o->n_by_health[h]++;
        if (h == HEALTH_UNKNOWN)
                o->n_unpolled++;
        if (o->json) {
                json_object_array_add(o->rows, row_json(o, account, project_id, name, w, error));
                return;
        }
        struct region_directory dir;
        context_saved_directory(o->context, account, &dir);
        _cleanup_free_ char *regions = w->snap ? regions_text(w->snap, &dir) : xstrdup("-");
        _cleanup_free_ char *errors = w->snap ? errors_text(w->snap, &dir) : NULL;
        region_directory_done(&dir);
        table_row(o->table, project_id, name, w->snap ? w->snap->status : "-", health_to_string(h), regions,
                  errors ? errors : strempty(error));
}

static void add_failed_list(const char *account, int64_t project_id, const char *error, void *userdata) {
        struct once *o = userdata;

        o->n_unpolled++;
        if (o->json) {
                struct json_object *k = json_object_new_object();
                json_object_object_add(k, "account", json_object_new_string(account));
                json_object_object_add(k, "project_id", json_object_new_int64(project_id));
                json_object_object_add(k, "deployment", json_object_new_string("*"));
                json_object_object_add(k, "status", NULL);
                json_object_object_add(k, "health", json_object_new_string("unknown"));
                json_object_object_add(k, "containers", json_object_new_array());
                json_object_object_add(k, "error", json_object_new_string(strempty(error)));
                json_object_array_add(o->rows, k);
                return;
        }
        table_row(o->table, project_id, "*", "-", "unknown", "-", strempty(error));
}

/* Worst first: a failure beats not knowing, which beats a warning. */
static enum nagios_code verdict(const struct once *o) {
        if (o->n_by_health[HEALTH_FAILED] || o->n_by_health[HEALTH_GONE])
                return NAGIOS_CRITICAL;
        if (o->n_unpolled)
                return NAGIOS_UNKNOWN;
        if (o->n_by_health[HEALTH_DEGRADED])
                return NAGIOS_WARNING;
        return NAGIOS_OK;
}

static const char *verdict_name(enum nagios_code c) {
        static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
        return names[c];
}

static char *summary(const struct once *o) {
        static const enum health order[] = { HEALTH_FAILED, HEALTH_GONE, HEALTH_DEGRADED, HEALTH_UNKNOWN,
                                             HEALTH_PROGRESSING, HEALTH_HEALTHY, HEALTH_IDLE, HEALTH_DISABLED,
                                             HEALTH_DELETING };
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                size_t n = order[i] == HEALTH_UNKNOWN ? o->n_unpolled : o->n_by_health[order[i]];
                if (n)
                        strextendf(&s, ", ", "%zu %s", n, health_to_string(order[i]));
        }
        return s ? s : xstrdup("no deployments");
}

/* The verdict: the Nagios line (the caller prints the table after it), or the JSON object with
 * the rows (an empty array when rows is NULL: invalid configuration, setup failure). */
static void print_verdict(enum nagios_code code, const char *summary, struct json_object *rows, bool json) {
        if (json) {
                struct json_object *top = json_object_new_object();
                json_object_object_add(top, "status", json_object_new_string(verdict_name(code)));
                json_object_object_add(top, "exit_code", json_object_new_int(code));
                json_object_object_add(top, "summary", json_object_new_string(summary));
                json_object_object_add(top, "deployments", rows ? json_object_get(rows) : json_object_new_array());
                _cleanup_free_ char *text = json_sanitize(json_object_to_json_string_ext(
                        top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
                printf("%s\n", text);
                json_object_put(top);
        } else
                printf("INFERWATCH %s - %s\n", verdict_name(code), summary);
}

int run_once(const char *config_path, bool json) {
        struct config_diag diag = {};
        struct config *c = NULL;
        struct http_client *http = NULL;
        sd_event_source *post = NULL;
        struct once o = { .json = json };
        enum nagios_code code = NAGIOS_UNKNOWN;
        _cleanup_free_ char *sum = NULL, *table = NULL;
        size_t table_size = 0;
        int r;

        r = config_load(config_path, CONFIG_LOAD_SECRETS, &diag, &c);
        config_diag_print(&diag, stderr);
        config_diag_done(&diag);
        if (r < 0) {
                _cleanup_free_ char *what = xasprintf("invalid configuration %s", config_path);
                print_verdict(NAGIOS_UNKNOWN, what, NULL, json);
                return NAGIOS_UNKNOWN;
        }

        (void) context_read_saved(c->state_directory, &o.context);
        if ((r = sd_event_new(&o.event)) < 0 || (r = http_client_new(o.event, &http)) < 0 ||
            (r = monitor_new(o.event, http, c, true, &o.monitor)) < 0 ||
            (r = sd_event_add_post(o.event, &post, on_post, &o)) < 0 || (r = monitor_start(o.monitor)) < 0) {
                log_error_errno(r, "Failed to set up polling: %m");
                print_verdict(NAGIOS_UNKNOWN, "cannot set up polling", NULL, json);
                goto finish;
        }
        r = sd_event_loop(o.event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                print_verdict(NAGIOS_UNKNOWN, "event loop failed", NULL, json);
                goto finish;
        }

        o.rows = json_object_new_array();
        /* Nagios reads the first line: the table is built aside and printed after the summary. */
        o.table = open_memstream(&table, &table_size);
        if (!o.table)
                abort();
        fprintf(o.table, "%-10s %-30s %-18s %-12s %-24s %s\n", "PROJECT", "DEPLOYMENT", "STATUS", "HEALTH",
                "REGIONS (ready/total)", "ERROR");
        monitor_foreach(o.monitor, add_row, &o);
        monitor_foreach_failed_list(o.monitor, add_failed_list, &o);
        fclose(o.table);
        code = verdict(&o);
        sum = summary(&o);
        print_verdict(code, sum, o.rows, json);
        if (!json)
                fputs(table, stdout);
finish:
        json_object_put(o.rows);
        json_object_put(o.context);
        sd_event_source_disable_unref(post);
        monitor_free(o.monitor);
        http_client_free(http);
        sd_event_unref(o.event);
        config_free(c);
        return code;
}
